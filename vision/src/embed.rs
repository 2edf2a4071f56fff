//! Face embeddings with FaceNet (Inception-ResNet-v1, 512-d) from a frozen TensorFlow graph.

use std::path::Path;

use opencv::core::{self, Mat, Rect, Size};
use opencv::dnn;
use opencv::imgproc;
use opencv::prelude::*;

use crate::detect::Face;
use crate::{Error, Result};

pub const DIM: usize = 512;
const INPUT: i32 = 160;

/// An L2-normalised embedding: the dot product of two is their cosine similarity.
pub type Embedding = Vec<f32>;

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub struct Embedder {
    net: dnn::Net,
}

impl Embedder {
    pub fn load(path: &Path) -> Result<Embedder> {
        let err = |message: String| Error::Model {
            path: path.into(),
            message,
        };
        if !path.is_file() {
            return Err(err(
                "file not found (run `make -f vision/vision.mk vision-assets`)".into(),
            ));
        }
        let name = path
            .to_str()
            .ok_or_else(|| err("path is not UTF-8".into()))?;
        let net = dnn::read_net_from_tensorflow(name, "").map_err(|e| err(e.to_string()))?;
        Ok(Embedder { net })
    }

    /// The crop FaceNet sees: the detected box widened by a margin (as FaceNet was trained on
    /// MTCNN boxes plus a margin), clipped to the frame.
    pub fn crop_rect(frame: &Mat, face: &Face) -> Option<Rect> {
        let m = 0.12 * face.w.max(face.h);
        let x1 = (face.x - m).max(0.0).floor() as i32;
        let y1 = (face.y - m).max(0.0).floor() as i32;
        let x2 = ((face.x + face.w + m).ceil() as i32).min(frame.cols());
        let y2 = ((face.y + face.h + m).ceil() as i32).min(frame.rows());
        (x2 - x1 >= 8 && y2 - y1 >= 8).then(|| Rect::new(x1, y1, x2 - x1, y2 - y1))
    }

    /// Embeds one face of a BGR frame; `None` when the face is (almost) outside the frame.
    pub fn embed(&mut self, frame: &Mat, face: &Face) -> Result<Option<Embedding>> {
        let Some(rect) = Self::crop_rect(frame, face) else {
            return Ok(None);
        };
        let crop = Mat::roi(frame, rect)?;
        let mut resized = Mat::default();
        imgproc::resize(
            &crop,
            &mut resized,
            Size::new(INPUT, INPUT),
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )?;
        // NCHW float blob, BGR → RGB.
        let mut blob = dnn::blob_from_image(
            &resized,
            1.0,
            Size::new(INPUT, INPUT),
            core::Scalar::all(0.0),
            true,
            false,
            core::CV_32F,
        )?;
        prewhiten(blob.data_typed_mut::<f32>()?);
        self.net
            .set_input(&blob, "", 1.0, core::Scalar::default())?;
        let out = self.net.forward_single_def()?;
        let v = out.data_typed::<f32>()?;
        if v.len() != DIM {
            return Err(Error::Model {
                path: "facenet".into(),
                message: format!("expected a {DIM}-d output, got {}", v.len()),
            });
        }
        Ok(Some(l2_normalise(v)))
    }
}

/// Per-image standardisation, as FaceNet was trained: zero mean, unit deviation (floored so a
/// flat image does not blow up).
pub fn prewhiten(x: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt().max(1.0 / n.sqrt());
    for v in x {
        *v = ((*v as f64 - mean) / std) as f32;
    }
}

pub fn l2_normalise(v: &[f32]) -> Embedding {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prewhiten_gives_zero_mean_unit_std() {
        let mut x: Vec<f32> = (0..300).map(|i| (i % 17) as f32 * 3.0 + 10.0).collect();
        prewhiten(&mut x);
        let mean: f32 = x.iter().sum::<f32>() / x.len() as f32;
        let var: f32 = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / x.len() as f32;
        assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3);
        let mut flat = vec![5.0; 100];
        prewhiten(&mut flat);
        assert!(flat.iter().all(|v| v.is_finite() && v.abs() < 1e-6));
    }

    #[test]
    fn normalised_vectors_have_cosine_one_with_themselves() {
        let v = l2_normalise(&[3.0, 4.0]);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
        assert!((v[0] - 0.6).abs() < 1e-6);
    }
}
