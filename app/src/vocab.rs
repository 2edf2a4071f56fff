//! The fixed vocabularies of the domain, each an enum: the strings stored in
//! the database (and checked by the migrations' CHECK constraints) are the
//! snake_case names, and each word has one label per language, taken from the
//! locale files. Shared by the browser and the server.

use serde::{Deserialize, Serialize};

use crate::i18n::{Locale, td_string};

/// Declares a vocabulary: the enum, `ALL`, `as_str`, `parse` and `label`.
/// Each variant names its stored string and its locale key.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $stored:literal => $section:ident . $key:ident, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            pub const ALL: [$name; [$($stored),+].len()] = [$($name::$variant),+];

            /// The form stored in the database and sent over the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $stored, )+
                }
            }

            pub fn parse(value: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == value)
            }

            /// The word in the user's language.
            pub fn label(self, locale: Locale) -> &'static str {
                match self {
                    $( $name::$variant => td_string!(locale, $section.$key), )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
                    .ok_or_else(|| format!(concat!("unknown ", stringify!($name), " {:?}"), value))
            }
        }

        // Stored as its text in SQL put together at run time.
        #[cfg(feature = "ssr")]
        impl From<$name> for crate::infra::sql::Arg {
            fn from(value: $name) -> Self {
                crate::infra::sql::Arg::from(value.as_str())
            }
        }

        #[cfg(feature = "ssr")]
        impl From<&$name> for crate::infra::sql::Arg {
            fn from(value: &$name) -> Self {
                crate::infra::sql::Arg::from(value.as_str())
            }
        }
    };
}

vocabulary! {
    /// A kind of service a visitor asks for.
    pub enum ServiceKind {
        Consultation = "consultation" => services.consultation,
        TestDrive = "test_drive" => services.test_drive,
        Credit = "credit" => services.credit,
        TradeIn = "trade_in" => services.trade_in,
        Service = "service" => services.service,
        PurchaseTalk = "purchase_talk" => services.purchase_talk,
        Insurance = "insurance" => services.insurance,
    }
}

vocabulary! {
    /// How a client heard of the dealership.
    pub enum Source {
        WalkIn = "walk_in" => sources.walk_in,
        Instagram = "instagram" => sources.instagram,
        Telegram = "telegram" => sources.telegram,
        Referral = "referral" => sources.referral,
        Olx = "olx" => sources.olx,
        Website = "website" => sources.website,
        Billboard = "billboard" => sources.billboard,
        Other = "other" => sources.other,
    }
}

vocabulary! {
    /// What a Telegram notification is about; staff choose which they get.
    pub enum NotifyKind {
        UnknownVisitor = "unknown_visitor" => profile.kind_unknown_visitor,
        NewClient = "new_client" => profile.kind_new_client,
        ReturningClient = "returning_client" => profile.kind_returning_client,
        ClientLeft = "client_left" => profile.kind_client_left,
        HotLead = "hot_lead" => profile.kind_hot_lead,
        DailySummary = "daily_summary" => profile.kind_daily_summary,
    }
}

vocabulary! {
    /// Who opened a visit (`visits.started_by`).
    pub enum VisitStart {
        Kiosk = "kiosk" => started.kiosk,
        Camera = "camera" => started.camera,
        Manual = "manual" => started.manual,
    }
}

vocabulary! {
    /// Who closed a visit (`visits.ended_by`); `AutoClose` when nobody saw
    /// the visitor leave and the day closed.
    pub enum VisitEnd {
        ExitCamera = "exit_camera" => ended.exit_camera,
        Manual = "manual" => ended.manual,
        AutoClose = "auto_close" => ended.auto_close,
    }
}

vocabulary! {
    /// What a staff member may do.
    pub enum Role {
        Admin = "admin" => roles.admin,
        Manager = "manager" => roles.manager,
        Reception = "reception" => roles.reception,
    }
}

impl Role {
    /// Managers and admins see every branch and every page but settings.
    pub fn is_manager(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
}

vocabulary! {
    /// What a client's uploaded document is.
    pub enum DocumentKind {
        Passport = "passport" => card.kind_passport,
        Contract = "contract" => card.kind_contract,
        Other = "other" => card.kind_other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each word survives its stored form, serde writes the stored form, and
    /// every language has a label for it.
    macro_rules! round_trip {
        ($test:ident, $name:ident) => {
            #[test]
            fn $test() {
                for v in $name::ALL {
                    assert_eq!($name::parse(v.as_str()), Some(v));
                    assert_eq!(
                        serde_json::to_value(v).unwrap(),
                        serde_json::Value::String(v.as_str().to_string())
                    );
                    assert_eq!(
                        serde_json::from_value::<$name>(v.as_str().into()).unwrap(),
                        v
                    );
                    for locale in [Locale::uz, Locale::ru, Locale::en] {
                        assert!(!v.label(locale).trim().is_empty(), "{v} in {locale:?}");
                    }
                }
                assert_eq!($name::parse("no such word"), None);
            }
        };
    }

    round_trip!(service_kinds, ServiceKind);
    round_trip!(sources, Source);
    round_trip!(notify_kinds, NotifyKind);
    round_trip!(visit_starts, VisitStart);
    round_trip!(visit_ends, VisitEnd);
    round_trip!(roles, Role);
    round_trip!(document_kinds, DocumentKind);

    /// The stored strings are exactly the ones the migrations' CHECK constraints allow.
    #[test]
    fn stored_strings_match_the_schema() {
        let schema = include_str!("../../migrations/sqlite/20261124000001_domain.sql");
        let check = |column: &str, words: &[&str]| {
            let list = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let clause = format!("CHECK ({column} IN ({list}))");
            assert!(schema.contains(&clause), "{clause}");
        };
        check("role", &Role::ALL.map(Role::as_str));
        check("source", &Source::ALL.map(Source::as_str));
        check("started_by", &VisitStart::ALL.map(VisitStart::as_str));
        check("ended_by", &VisitEnd::ALL.map(VisitEnd::as_str));
        check("kind", &ServiceKind::ALL.map(ServiceKind::as_str));
        check("kind", &DocumentKind::ALL.map(DocumentKind::as_str));
        let default_kinds = NotifyKind::ALL.map(NotifyKind::as_str).join(",");
        assert!(schema.contains(&format!(
            "notify_kinds TEXT NOT NULL DEFAULT '{default_kinds}'"
        )));
    }
}
