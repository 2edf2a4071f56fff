//! SQL put together at run time (search filters, batches of rows) for either database: the
//! text with `$1, $2 …` placeholders for PostgreSQL, the same with `?` for SQLite, and the
//! values, bound to the backend's own argument types inside `db_run!(on, |c, D| …)`.

use std::fmt::Write as _;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Arguments, Database, Encode, FromRow, IntoArguments, Postgres, Sqlite, Type};

/// One bound value. `None` is SQL NULL of that type.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($variant:ident: $($t:ty => $conv:expr),* $(,)?) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg {
                let conv: fn($t) -> _ = $conv;
                Arg::$variant(Some(conv(v)))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Arg {
                let conv: fn($t) -> _ = $conv;
                Arg::$variant(v.map(conv))
            }
        }
    )*};
}

arg_from!(Int: i64 => |v| v, i32 => i64::from, u32 => i64::from);
arg_from!(Real: f64 => |v| v);
arg_from!(Text: String => |v| v, &str => str::to_string, &String => String::clone);
arg_from!(Bool: bool => |v| v);
arg_from!(Bytes: Vec<u8> => |v| v);

impl<T> From<&Option<T>> for Arg
where
    T: Clone,
    Arg: From<Option<T>>,
{
    fn from(v: &Option<T>) -> Arg {
        Arg::from(v.clone())
    }
}

impl<'q> Encode<'q, Sqlite> for Arg {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        match self {
            Arg::Int(v) => <Option<i64> as Encode<'q, Sqlite>>::encode_by_ref(v, buf),
            Arg::Real(v) => <Option<f64> as Encode<'q, Sqlite>>::encode_by_ref(v, buf),
            Arg::Text(v) => <Option<String> as Encode<'q, Sqlite>>::encode_by_ref(v, buf),
            Arg::Bool(v) => <Option<bool> as Encode<'q, Sqlite>>::encode_by_ref(v, buf),
            Arg::Bytes(v) => <Option<Vec<u8>> as Encode<'q, Sqlite>>::encode_by_ref(v, buf),
        }
    }
}

impl Type<Sqlite> for Arg {
    fn type_info() -> <Sqlite as Database>::TypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(_: &<Sqlite as Database>::TypeInfo) -> bool {
        true
    }
}

impl<'q> Encode<'q, Postgres> for Arg {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        match self {
            Arg::Int(v) => <Option<i64> as Encode<'q, Postgres>>::encode_by_ref(v, buf),
            Arg::Real(v) => <Option<f64> as Encode<'q, Postgres>>::encode_by_ref(v, buf),
            Arg::Text(v) => <Option<String> as Encode<'q, Postgres>>::encode_by_ref(v, buf),
            Arg::Bool(v) => <Option<bool> as Encode<'q, Postgres>>::encode_by_ref(v, buf),
            Arg::Bytes(v) => <Option<Vec<u8>> as Encode<'q, Postgres>>::encode_by_ref(v, buf),
        }
    }

    /// PostgreSQL types each parameter: say which one this value is.
    fn produces(&self) -> Option<<Postgres as Database>::TypeInfo> {
        Some(match self {
            Arg::Int(_) => <i64 as Type<Postgres>>::type_info(),
            Arg::Real(_) => <f64 as Type<Postgres>>::type_info(),
            Arg::Text(_) => <String as Type<Postgres>>::type_info(),
            Arg::Bool(_) => <bool as Type<Postgres>>::type_info(),
            Arg::Bytes(_) => <Vec<u8> as Type<Postgres>>::type_info(),
        })
    }
}

impl Type<Postgres> for Arg {
    fn type_info() -> <Postgres as Database>::TypeInfo {
        <i64 as Type<Postgres>>::type_info()
    }
    fn compatible(_: &<Postgres as Database>::TypeInfo) -> bool {
        true
    }
}

/// A statement being put together.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    /// The same statement with anonymous `?` placeholders, for SQLite: sqlx looks up the
    /// name of every numbered parameter, and SQLite finds a name by walking the list of
    /// them, so binding `$1 … $n` costs n² steps (minutes for a copy's 30,000-value
    /// INSERTs, a large part of a rescore's 2,000-row batches); a `?` has no name.
    anonymous: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Sql {
        let text = text.into();
        Sql {
            anonymous: text.clone(),
            text,
            args: Vec::new(),
        }
    }

    /// Appends SQL text (never a value from outside: those go through `push_bind`).
    pub fn push(&mut self, text: impl std::fmt::Display) -> &mut Sql {
        let start = self.text.len();
        let _ = write!(self.text, "{text}");
        self.anonymous.push_str(&self.text[start..]);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Sql {
        self.args.push(value.into());
        let _ = write!(self.text, "${}", self.args.len());
        self.anonymous.push('?');
        self
    }

    /// The text for database `D`: both number the values in the order they were pushed.
    fn text_for<D: Database>(&self) -> &str {
        if D::NAME == Sqlite::NAME {
            &self.anonymous
        } else {
            &self.text
        }
    }

    /// Appends the items separated by `separator` (`(1, 2, 3)` lists).
    pub fn separated<'s>(&'s mut self, separator: &'static str) -> Separated<'s> {
        Separated {
            sql: self,
            separator,
            first: true,
        }
    }

    /// `VALUES (…), (…)`: one parenthesised row per item, its columns written by `row`.
    pub fn push_values<I, F>(&mut self, items: I, mut row: F) -> &mut Sql
    where
        I: IntoIterator,
        F: FnMut(Separated<'_>, I::Item),
    {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    fn arguments<'q, D: Database>(&'q self) -> D::Arguments<'q>
    where
        Arg: Encode<'q, D> + Type<D>,
    {
        let mut arguments = D::Arguments::default();
        for arg in &self.args {
            // These value types always encode; were one ever refused, the statement would
            // fail with a parameter count error instead of running with a wrong value.
            let _ = arguments.add(arg);
        }
        arguments
    }

    pub fn query<'q, D: Database>(&'q self) -> Query<'q, D, D::Arguments<'q>>
    where
        Arg: Encode<'q, D> + Type<D>,
        D::Arguments<'q>: IntoArguments<'q, D>,
    {
        sqlx::query_with(self.text_for::<D>(), self.arguments::<D>())
    }

    pub fn query_as<'q, D: Database, T>(&'q self) -> QueryAs<'q, D, T, D::Arguments<'q>>
    where
        Arg: Encode<'q, D> + Type<D>,
        D::Arguments<'q>: IntoArguments<'q, D>,
        T: for<'r> FromRow<'r, D::Row>,
    {
        sqlx::query_as_with(self.text_for::<D>(), self.arguments::<D>())
    }

    pub fn query_scalar<'q, D: Database, T>(&'q self) -> QueryScalar<'q, D, T, D::Arguments<'q>>
    where
        Arg: Encode<'q, D> + Type<D>,
        D::Arguments<'q>: IntoArguments<'q, D>,
        (T,): for<'r> FromRow<'r, D::Row>,
    {
        sqlx::query_scalar_with(self.text_for::<D>(), self.arguments::<D>())
    }
}

/// Items of a list or a row of `push_values`, with their separator.
pub struct Separated<'s> {
    sql: &'s mut Sql,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    fn next(&mut self) {
        if !self.first {
            self.sql.push(self.separator);
        }
        self.first = false;
    }

    pub fn push(&mut self, text: impl std::fmt::Display) -> &mut Self {
        self.next();
        self.sql.push(text);
        self
    }

    pub fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.next();
        self.sql.push_bind(value);
        self
    }

    /// Appends text right after the last item, without a separator.
    pub fn push_unseparated(&mut self, text: impl std::fmt::Display) -> &mut Self {
        self.sql.push(text);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order_and_writes_rows() {
        let mut q = Sql::new("INSERT INTO t (a, b) ");
        q.push_values([(1_i64, "x"), (2, "y")], |mut row, (a, b)| {
            row.push_bind(a).push_bind(b);
        });
        q.push(" WHERE c = ").push_bind(Some(true));
        assert_eq!(
            q.text(),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) WHERE c = $5"
        );
        assert_eq!(q.args[3], Arg::Text(Some("y".into())));
        assert_eq!(q.args[4], Arg::Bool(Some(true)));
        let mut ids = Sql::new("(");
        let mut list = ids.separated(", ");
        for id in [7_i64, 8] {
            list.push_bind(id);
        }
        list.push_unseparated(")");
        assert_eq!(ids.text(), "($1, $2)");
        assert_eq!(ids.text_for::<Sqlite>(), "(?, ?)");
        assert_eq!(ids.text_for::<Postgres>(), "($1, $2)");
    }

    #[tokio::test]
    async fn binds_every_kind_of_value_on_sqlite() {
        let db = crate::infra::Db::open("sqlite::memory:").await.unwrap();
        let mut q = Sql::new("SELECT ");
        q.push_bind(41_i64)
            .push(" + 1, ")
            .push_bind("a")
            .push(" || 'b', ")
            .push_bind(None::<i64>)
            .push(" IS NULL, ")
            .push_bind(0.5)
            .push(" * 2");
        let row: (i64, String, bool, f64) =
            crate::db_run!(db, |c, D| q.query_as::<D, _>().fetch_one(c).await).unwrap();
        assert_eq!(row, (42, "ab".into(), true, 1.0));
    }

    /// Values land in their own columns however many there are (anonymous placeholders are
    /// numbered in order by SQLite, as `$n` are by PostgreSQL).
    #[tokio::test]
    async fn binds_many_values_in_order_on_sqlite() {
        let db = crate::infra::Db::open("sqlite::memory:").await.unwrap();
        crate::db_run!(db, |c| sqlx::query("CREATE TABLE t (a INTEGER, b TEXT)")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        let rows: Vec<(i64, String)> = (0..15_000).map(|i| (i, format!("v{i}"))).collect();
        let mut q = Sql::new("INSERT INTO t (a, b) ");
        q.push_values(&rows, |mut row, (a, b)| {
            row.push_bind(*a).push_bind(b.as_str());
        });
        crate::db_run!(db, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        let mut check = Sql::new("SELECT a, b FROM t WHERE a IN ");
        let mut list = check.separated(", ");
        list.push_unseparated("(");
        for a in [0_i64, 7_777, 14_999] {
            list.push_bind(a);
        }
        list.push_unseparated(") ORDER BY a");
        let found: Vec<(i64, String)> =
            crate::db_run!(db, |c, D| check.query_as::<D, _>().fetch_all(c).await).unwrap();
        assert_eq!(
            found,
            [rows[0].clone(), rows[7_777].clone(), rows[14_999].clone()]
        );
    }
}
