//! Names the demo data draws from: Uzbek (Latin) and Russian (Cyrillic), by gender.

pub const UZBEK_MALE: &[&str] = &[
    "Aziz",
    "Bekzod",
    "Doniyor",
    "Jasur",
    "Sardor",
    "Otabek",
    "Javlon",
    "Rustam",
    "Shoxrux",
    "Ulug‘bek",
    "Islom",
    "Temur",
    "Farrux",
    "Akmal",
    "Anvar",
    "Bobur",
    "Dilshod",
    "Eldor",
    "Husan",
    "Ilhom",
    "Jamshid",
    "Kamol",
    "Laziz",
    "Mirzo",
    "Nodir",
    "Oybek",
    "Qodir",
    "Ravshan",
    "Sherzod",
    "Zafar",
    "Abdulla",
    "Alisher",
    "Botir",
    "G‘ayrat",
    "Ibrohim",
    "Jahongir",
    "Komil",
    "Mansur",
    "Nurbek",
    "Sanjar",
];
pub const UZBEK_FEMALE: &[&str] = &[
    "Dilnoza",
    "Gulnora",
    "Madina",
    "Malika",
    "Nigora",
    "Shahnoza",
    "Zarina",
    "Feruza",
    "Kamola",
    "Laylo",
    "Mohira",
    "Nilufar",
    "Sevara",
    "Umida",
    "Yulduz",
    "Dildora",
    "Gulchehra",
    "Munisa",
    "Nodira",
    "Ozoda",
    "Barno",
    "Charos",
    "Durdona",
    "Hilola",
    "Iroda",
    "Maftuna",
    "Nargiza",
    "Saida",
    "Shoira",
    "Zuhra",
];
/// Surnames in their male form; the female form adds "a".
pub const UZBEK_SURNAMES: &[&str] = &[
    "Karimov",
    "Rahimov",
    "Yusupov",
    "Aliyev",
    "Tursunov",
    "Abdullayev",
    "Ismoilov",
    "Nazarov",
    "Qodirov",
    "Saidov",
    "Usmonov",
    "Xolmatov",
    "Ergashev",
    "Mirzayev",
    "Sobirov",
    "Hasanov",
    "Umarov",
    "Jo‘rayev",
    "Qosimov",
    "Baxtiyorov",
    "Raximov",
    "Mahmudov",
    "Olimov",
    "Sultonov",
    "Toshpo‘latov",
    "Nurmatov",
    "Yo‘ldoshev",
    "Ahmedov",
    "Salimov",
    "Xudoyberdiyev",
];
pub const RUSSIAN_MALE: &[&str] = &[
    "Александр",
    "Дмитрий",
    "Сергей",
    "Андрей",
    "Владимир",
    "Игорь",
    "Олег",
    "Николай",
    "Павел",
    "Максим",
    "Евгений",
    "Виктор",
    "Артём",
    "Роман",
    "Константин",
];
pub const RUSSIAN_FEMALE: &[&str] = &[
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Мария",
    "Екатерина",
    "Юлия",
    "Людмила",
    "Дарья",
    "Ксения",
    "Виктория",
    "Алина",
];
pub const RUSSIAN_SURNAMES: &[&str] = &[
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Соколов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Алексеев",
    "Фёдоров",
    "Михайлов",
    "Беляев",
    "Тарасов",
    "Белов",
    "Комаров",
    "Орлов",
    "Киселёв",
];

/// Mobile operator codes in Uzbekistan (the two digits after +998).
pub const OPERATOR_CODES: &[u32] = &[90, 91, 93, 94, 95, 97, 98, 99, 33, 88, 77, 50];

/// The female form: the ending "a" in the surname's own script
/// (`Фёдорова`, `Karimova`), never a Latin letter after Cyrillic.
pub fn female_surname(male: &str) -> String {
    let cyrillic = male
        .chars()
        .last()
        .is_some_and(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    format!("{male}{}", if cyrillic { 'а' } else { 'a' })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn female_surnames_end_in_their_own_script() {
        assert_eq!(female_surname("Фёдоров"), "Фёдорова");
        assert_eq!(female_surname("Karimov"), "Karimova");
        for male in RUSSIAN_SURNAMES {
            let female = female_surname(male);
            assert!(
                female.chars().all(|c| !c.is_ascii()),
                "{female} mixes scripts"
            );
        }
    }
}
