-- Kiosk submissions: a double tap or a replayed request returns the first
-- answer instead of opening a second visit.
CREATE TABLE kiosk_submissions (
    device_id INTEGER NOT NULL REFERENCES devices (id),
    submission_id TEXT NOT NULL,
    client_id INTEGER REFERENCES clients (id),
    visit_id INTEGER REFERENCES visits (id),
    new_client BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, submission_id)
);

-- A first consent text, so a kiosk works on a database without demo data.
INSERT INTO consent_texts (version, language, body, created_at)
SELECT 1, 'uz', 'Men shaxsiy ma’lumotlarim (ism, telefon, tug‘ilgan yil, rasm) avtosalon tomonidan xizmat ko‘rsatish va aloqa uchun saqlanishiga roziman. Istalgan vaqtda o‘chirishni so‘rashim mumkin.', 0
WHERE NOT EXISTS (SELECT 1 FROM consent_texts);
INSERT INTO consent_texts (version, language, body, created_at)
SELECT 1, 'ru', 'Я согласен(на) на хранение моих персональных данных (имя, телефон, год рождения, фото) автосалоном для обслуживания и связи со мной. Я могу в любой момент потребовать их удаления.', 0
WHERE NOT EXISTS (SELECT 1 FROM consent_texts WHERE language = 'ru');
INSERT INTO consent_texts (version, language, body, created_at)
SELECT 1, 'en', 'I agree that the dealership stores my personal data (name, phone, birth year, photo) to serve and contact me. I may ask for it to be erased at any time.', 0
WHERE NOT EXISTS (SELECT 1 FROM consent_texts WHERE language = 'en');
