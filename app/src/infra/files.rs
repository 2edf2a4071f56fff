//! Personal files under the data directory: client photos (checked by
//! content, re-encoded) and documents (passport scans, contracts). Nothing here
//! is ever under the public folder; the server hands files out after its checks.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::error::{AppError, InvalidCode};

/// Largest photo accepted before decoding.
pub const PHOTO_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Largest image side accepted (a 4K tablet camera fits), and the pixel budget.
const PHOTO_MAX_SIDE: u32 = 6_000;
const PHOTO_MAX_PIXELS: u64 = 30_000_000;
/// Stored photos are scaled down to this side: plenty for a card and for face enrolment.
const PHOTO_STORED_SIDE: u32 = 1_280;
pub const DOCUMENT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// What a file really is, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Jpeg,
    Png,
    Pdf,
}

impl Sniffed {
    pub fn content_type(self) -> &'static str {
        match self {
            Sniffed::Jpeg => "image/jpeg",
            Sniffed::Png => "image/png",
            Sniffed::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Sniffed::Jpeg => "jpg",
            Sniffed::Png => "png",
            Sniffed::Pdf => "pdf",
        }
    }
}

pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Sniffed::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Sniffed::Png)
    } else if bytes.starts_with(b"%PDF-") {
        Some(Sniffed::Pdf)
    } else {
        None
    }
}

/// Decodes a JPEG or PNG within the size and pixel limits.
fn decode_image(bytes: &[u8]) -> Result<image::DynamicImage, AppError> {
    let bad = || AppError::invalid("photo", InvalidCode::BadFormat);
    let format = match sniff(bytes) {
        Some(Sniffed::Jpeg) => image::ImageFormat::Jpeg,
        Some(Sniffed::Png) => image::ImageFormat::Png,
        _ => return Err(bad()),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(PHOTO_MAX_SIDE);
    limits.max_image_height = Some(PHOTO_MAX_SIDE);
    limits.max_alloc = Some(PHOTO_MAX_PIXELS * 4);
    reader.limits(limits);
    let image = reader.decode().map_err(|error| match error {
        image::ImageError::Limits(_) => AppError::invalid("photo", InvalidCode::TooLong),
        _ => bad(),
    })?;
    if u64::from(image.width()) * u64::from(image.height()) > PHOTO_MAX_PIXELS {
        return Err(AppError::invalid("photo", InvalidCode::TooLong));
    }
    Ok(image)
}

/// Checks a photo by its content, scales it down and re-encodes it as JPEG
/// (which also drops any metadata or payload hidden in the original).
pub fn reencode_photo(bytes: &[u8]) -> Result<Vec<u8>, AppError> {
    reencode_within(bytes, PHOTO_STORED_SIDE)
}

/// Like [`reencode_photo`], scaled down to at most `max_side` pixels a side.
/// A JPEG that already fits is kept as it was compressed, without its
/// metadata ([`jpeg_without_metadata`]): the tablet's photo loses no
/// quality to a second compression, and the kiosk does not wait for one.
pub fn reencode_within(bytes: &[u8], max_side: u32) -> Result<Vec<u8>, AppError> {
    if bytes.len() > PHOTO_MAX_BYTES {
        return Err(AppError::invalid("photo", InvalidCode::TooLong));
    }
    // A JPEG whose segments do not add up (cut short, say) is refused
    // even where a lenient decoder would paint the rest grey.
    let stripped = match sniff(bytes) {
        Some(Sniffed::Jpeg) => Some(
            jpeg_without_metadata(bytes)
                .ok_or_else(|| AppError::invalid("photo", InvalidCode::BadFormat))?,
        ),
        _ => None,
    };
    // What is checked is what would be stored.
    let image = decode_image(stripped.as_deref().unwrap_or(bytes))?;
    if let Some(stripped) = stripped
        && image.width() <= max_side
        && image.height() <= max_side
    {
        return Ok(stripped);
    }
    let image = if image.width() > max_side || image.height() > max_side {
        image.thumbnail(max_side, max_side)
    } else {
        image
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88)
        .encode_image(&image.to_rgb8())
        .map_err(|error| {
            tracing::error!(%error, "cannot encode a photo");
            AppError::Internal
        })?;
    Ok(out)
}

/// The JPEG without the segments that carry things besides the picture
/// (EXIF with the camera, place and time, XMP, ICC profiles, comments,
/// JFIF thumbnails) and without anything after its end; the compressed
/// picture is copied unchanged. Adobe's segment stays: it says how the
/// colours were coded. None: not a JPEG whose segments can be walked.
fn jpeg_without_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    const APP0: u8 = 0xE0;
    const APP15: u8 = 0xEF;
    const ADOBE: u8 = 0xEE;
    const COMMENT: u8 = 0xFE;
    const START_OF_SCAN: u8 = 0xDA;
    const END: u8 = 0xD9;
    let is_restart = |m: u8| (0xD0..=0xD7).contains(&m);
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Fill bytes before a marker.
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = bytes[at];
        at += 1;
        if marker == END {
            out.extend_from_slice(&[0xFF, END]);
            return Some(out);
        }
        if marker == 0x00 || marker == 0x01 || is_restart(marker) {
            // No segment of its own (and 0x00 is no marker here).
            return None;
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        let segment = bytes.get(at..at.checked_add(length)?)?;
        if length < 2 {
            return None;
        }
        let metadata = (APP0..=APP15).contains(&marker) && marker != ADOBE || marker == COMMENT;
        if !metadata {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(segment);
        }
        at += length;
        if marker == START_OF_SCAN {
            // The compressed picture runs to the next marker that is not a
            // stuffed 0xFF 0x00 or a restart.
            let begins = at;
            loop {
                let next = at + bytes.get(at..)?.iter().position(|b| *b == 0xFF)?;
                match *bytes.get(next + 1)? {
                    0x00 => at = next + 2,
                    m if is_restart(m) => at = next + 2,
                    0xFF => at = next + 1,
                    _ => {
                        at = next;
                        break;
                    }
                }
            }
            out.extend_from_slice(&bytes[begins..at]);
        }
    }
}

/// A `data:image/...;base64,` URL from the tablet camera, as bytes.
pub fn photo_from_data_url(url: &str) -> Result<Vec<u8>, AppError> {
    use base64::Engine;
    let bad = || AppError::invalid("photo", InvalidCode::BadFormat);
    if url.len() > PHOTO_MAX_BYTES * 4 / 3 + 64 {
        return Err(AppError::invalid("photo", InvalidCode::TooLong));
    }
    let (head, data) = url.split_once(',').ok_or_else(bad)?;
    if !head.starts_with("data:image/") || !head.ends_with(";base64") {
        return Err(bad());
    }
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| bad())
}

/// Writes `bytes` to `dir/name` via a temporary file, so no reader ever sees
/// half a file, and returns the path relative to the data directory.
pub fn store(data_dir: &Path, dir: &str, name: &str, bytes: &[u8]) -> Result<String, AppError> {
    let folder = data_dir.join(dir);
    let fail = |error: std::io::Error| {
        tracing::error!(%error, folder = %folder.display(), "cannot store a file");
        AppError::Internal
    };
    private_dir(&folder).map_err(fail)?;
    let target = folder.join(name);
    let temporary = folder.join(format!(".{name}.part"));
    write_private(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, &target).map_err(fail)?;
    Ok(format!("{dir}/{name}"))
}

/// Creates `dir` (and its parents) readable by this user only: photos,
/// passports and face snapshots are nobody else's business on the machine.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Writes a new file readable by this user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The absolute path of a stored file; refuses anything that could leave the
/// data directory (stored paths are ours, but check anyway).
pub fn resolve(data_dir: &Path, stored: &str) -> Option<PathBuf> {
    let relative = Path::new(stored);
    let safe = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    safe.then(|| data_dir.join(relative))
}

pub fn remove(data_dir: &Path, stored: &str) {
    if let Some(path) = resolve(data_dir, stored)
        && let Err(error) = std::fs::remove_file(&path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, path = %path.display(), "cannot delete a file");
    }
}

/// A file name as the uploader's computer called it, made harmless: no
/// folders, no control characters, at most 120 characters.
pub fn clean_file_name(name: &str, extension: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(120)
        .collect();
    // The extension is the checked type's, never the uploader's: a PDF
    // named `a.html` must not download as a page.
    let stem = match cleaned.rsplit_once('.') {
        Some((stem, _)) => stem.trim_end(),
        None => cleaned.as_str(),
    };
    if stem.is_empty() {
        format!("document.{extension}")
    } else {
        format!("{stem}.{extension}")
    }
}

/// Checks an uploaded document by its content: a PDF or a decodable image.
pub fn check_document(bytes: &[u8]) -> Result<Sniffed, AppError> {
    if bytes.is_empty() {
        return Err(AppError::invalid("file", InvalidCode::Required));
    }
    if bytes.len() > DOCUMENT_MAX_BYTES {
        return Err(AppError::invalid("file", InvalidCode::TooLong));
    }
    let kind = sniff(bytes).ok_or(AppError::invalid("file", InvalidCode::BadFormat))?;
    match kind {
        Sniffed::Pdf => {
            // A real PDF ends with an end-of-file marker near its end.
            let tail = &bytes[bytes.len().saturating_sub(2048)..];
            if !tail.windows(5).any(|w| w == b"%%EOF") {
                return Err(AppError::invalid("file", InvalidCode::BadFormat));
            }
        }
        Sniffed::Jpeg | Sniffed::Png => {
            decode_image(bytes).map_err(|_| AppError::invalid("file", InvalidCode::BadFormat))?;
        }
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 120, 40]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(image)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn photos_are_checked_by_content_and_reencoded() {
        let jpeg = reencode_photo(&png(40, 30)).unwrap();
        assert_eq!(sniff(&jpeg), Some(Sniffed::Jpeg));
        // An executable named .jpg is not a photo.
        let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";
        assert!(matches!(
            reencode_photo(elf),
            Err(AppError::Invalid {
                code: InvalidCode::BadFormat,
                ..
            })
        ));
        // A JPEG header with garbage after it does not decode.
        let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
        fake.extend_from_slice(&[0u8; 64]);
        assert!(reencode_photo(&fake).is_err());
        // Big pictures are scaled down.
        let big = reencode_photo(&png(2_000, 1_000)).unwrap();
        let decoded = image::load_from_memory(&big).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1_280, 640));
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 3) as u8, ((x + y) * 2) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&image)
            .unwrap();
        out
    }

    /// `jpeg` with an EXIF segment, a comment and a payload after its end.
    fn jpeg_with_metadata(width: u32, height: u32) -> Vec<u8> {
        let plain = jpeg(width, height);
        let mut out = plain[..2].to_vec();
        let exif = b"Exif\0\0GPS 41.3111 69.2797 Model TabletCam";
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(exif);
        let comment = b"secret comment";
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(comment);
        out.extend_from_slice(&plain[2..]);
        out.extend_from_slice(b"PK\x03\x04 hidden archive");
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_jpeg_that_fits_keeps_its_picture_and_loses_its_metadata() {
        let original = jpeg_with_metadata(320, 240);
        let stored = reencode_photo(&original).unwrap();
        for hidden in [
            &b"GPS 41.3111"[..],
            b"secret comment",
            b"hidden archive",
            b"JFIF",
        ] {
            assert!(
                !contains(&stored, hidden),
                "{:?} kept",
                String::from_utf8_lossy(hidden)
            );
        }
        // The compressed picture is the same bytes, so the same pixels.
        let before = image::load_from_memory(&original).unwrap().to_rgb8();
        let after = image::load_from_memory(&stored).unwrap().to_rgb8();
        assert_eq!(before, after);
        assert!(stored.len() < original.len());
        // Too big a JPEG is scaled down and encoded again, without metadata.
        let big = reencode_within(&jpeg_with_metadata(320, 240), 100).unwrap();
        let scaled = image::load_from_memory(&big).unwrap();
        assert_eq!((scaled.width(), scaled.height()), (100, 75));
        assert!(!contains(&big, b"GPS 41.3111"));
        // A JPEG cut short is refused, not stored.
        let cut = &original[..original.len() / 2];
        assert!(reencode_photo(cut).is_err());
    }

    #[test]
    fn oversized_images_are_refused_before_decoding() {
        assert!(matches!(
            reencode_photo(&png(6_001, 2)),
            Err(AppError::Invalid {
                code: InvalidCode::TooLong,
                ..
            })
        ));
        let huge = vec![0xFFu8; PHOTO_MAX_BYTES + 1];
        assert!(matches!(
            reencode_photo(&huge),
            Err(AppError::Invalid {
                code: InvalidCode::TooLong,
                ..
            })
        ));
    }

    #[test]
    fn data_urls_and_file_names() {
        let url = format!(
            "data:image/png;base64,{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png(4, 4))
        );
        assert!(reencode_photo(&photo_from_data_url(&url).unwrap()).is_ok());
        assert!(photo_from_data_url("data:text/html;base64,PGI+").is_err());
        assert!(photo_from_data_url("not a url").is_err());
        assert_eq!(clean_file_name("../../etc/passwd", "pdf"), "passwd.pdf");
        // The checked type names the extension, not the uploader.
        assert_eq!(clean_file_name("a.html", "pdf"), "a.pdf");
        assert_eq!(clean_file_name("scan.JPEG", "jpg"), "scan.jpg");
        assert_eq!(
            clean_file_name("C:\\scans\\pass port.pdf", "pdf"),
            "pass port.pdf"
        );
        assert_eq!(clean_file_name("..", "pdf"), "document.pdf");
        assert_eq!(clean_file_name("a\u{0}b<>.png", "png"), "ab.png");
        assert_eq!(resolve(Path::new("/data"), "../etc/passwd"), None);
        assert_eq!(
            resolve(Path::new("/data"), "photos/a.jpg"),
            Some(PathBuf::from("/data/photos/a.jpg"))
        );
    }

    #[test]
    fn documents_must_be_what_they_claim() {
        assert_eq!(
            check_document(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n").unwrap(),
            Sniffed::Pdf
        );
        assert!(check_document(b"%PDF-1.4 truncated").is_err());
        assert!(check_document(b"MZ\x90\x00 windows program").is_err());
        assert_eq!(check_document(&png(3, 3)).unwrap(), Sniffed::Png);
        assert!(check_document(b"").is_err());
    }
}
