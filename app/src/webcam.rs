//! The device's camera in the page (getUserMedia), in the browser only: the
//! kiosk's preview and photo, and a staff member's photo for the cameras.

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        CanvasRenderingContext2d, HtmlCanvasElement, HtmlInputElement, HtmlVideoElement,
        MediaStream, MediaStreamConstraints, MediaStreamTrack,
    };

    /// Whether the browser offers a camera API at all (not on plain http
    /// from another machine: browsers keep cameras to secure pages).
    pub fn supported() -> bool {
        web_sys::window()
            .and_then(|w| w.navigator().media_devices().ok())
            .is_some_and(|d| !wasm_bindgen::JsValue::from(d).is_undefined())
    }

    /// Asks for the front camera and shows it in `video`; `None` when there
    /// is no camera or the visitor (or the browser) refused.
    pub async fn start(video: &HtmlVideoElement) -> Option<MediaStream> {
        let devices = web_sys::window()?.navigator().media_devices().ok()?;
        let constraints = MediaStreamConstraints::new();
        let video_constraints = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&video_constraints, &"facingMode".into(), &"user".into());
        let _ = js_sys::Reflect::set(&video_constraints, &"width".into(), &1280.into());
        constraints.set_video(&video_constraints);
        constraints.set_audio(&false.into());
        let promise = devices.get_user_media_with_constraints(&constraints).ok()?;
        let stream: MediaStream = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
        video.set_src_object(Some(&stream));
        if let Ok(playing) = video.play() {
            let _ = JsFuture::from(playing).await;
        }
        Some(stream)
    }

    pub fn stop(stream: &MediaStream) {
        for track in stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                track.stop();
            }
        }
    }

    /// The current video frame drawn on a new canvas at most `max_width` wide.
    fn draw(
        video: &HtmlVideoElement,
        max_width: u32,
    ) -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
        let (width, height) = (video.video_width(), video.video_height());
        if width == 0 || height == 0 {
            return None;
        }
        let scale = f64::from(max_width.min(width)) / f64::from(width);
        let (w, h) = (
            (f64::from(width) * scale).round(),
            (f64::from(height) * scale).round(),
        );
        let canvas: HtmlCanvasElement = web_sys::window()?
            .document()?
            .create_element("canvas")
            .ok()?
            .dyn_into()
            .ok()?;
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
        let context: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        context
            .draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, w, h)
            .ok()?;
        Some((canvas, context))
    }

    /// The current video frame as a JPEG data URL, at most `max_width` wide.
    pub fn capture(video: &HtmlVideoElement, max_width: u32) -> Option<String> {
        let (canvas, _) = draw(video, max_width)?;
        canvas
            .to_data_url_with_type_and_encoder_options("image/jpeg", &0.85.into())
            .ok()
    }

    /// How much the picture changed since `previous` (mean difference of a 32-pixel-wide
    /// grey thumbnail, 0–255); `previous` becomes the current thumbnail.
    pub fn motion(video: &HtmlVideoElement, previous: &mut Vec<u8>) -> f64 {
        let Some((canvas, context)) = draw(video, 32) else {
            return 0.0;
        };
        let (w, h) = (canvas.width(), canvas.height());
        let Ok(image) = context.get_image_data(0.0, 0.0, f64::from(w), f64::from(h)) else {
            return 0.0;
        };
        let grey: Vec<u8> = image
            .data()
            .chunks_exact(4)
            .map(|p| ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8)
            .collect();
        let change = if previous.len() == grey.len() && !grey.is_empty() {
            let total: u64 = grey
                .iter()
                .zip(previous.iter())
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            total as f64 / grey.len() as f64
        } else {
            0.0
        };
        *previous = grey;
        change
    }

    /// Puts the JPEG `data_url` into the file `input` as `name`, so the form
    /// sends it exactly as a chosen file. False when the browser cannot.
    pub fn put_in_file_input(input: &HtmlInputElement, data_url: &str, name: &str) -> bool {
        let Some(base64) = data_url.strip_prefix("data:image/jpeg;base64,") else {
            return false;
        };
        let Some(binary) = web_sys::window().and_then(|w| w.atob(base64).ok()) else {
            return false;
        };
        // atob gives one character per byte (0–255).
        let bytes: Vec<u8> = binary.chars().map(|c| c as u32 as u8).collect();
        let array = js_sys::Uint8Array::from(bytes.as_slice());
        let options = web_sys::FilePropertyBag::new();
        options.set_type("image/jpeg");
        let Ok(file) = web_sys::File::new_with_u8_array_sequence_and_options(
            &js_sys::Array::of1(&array),
            name,
            &options,
        ) else {
            return false;
        };
        let Ok(transfer) = web_sys::DataTransfer::new() else {
            return false;
        };
        if transfer.items().add_with_file(&file).is_err() {
            return false;
        }
        input.set_files(transfer.files().as_ref());
        true
    }
}

#[cfg(feature = "hydrate")]
pub use browser::*;
