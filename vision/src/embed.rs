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
    // Eight running sums the compiler keeps in vector registers (one sum in order cannot
    // be vectorised): a gallery of 10,000 clients is matched about 5× faster.
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sums = [0.0f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    let tail: f32 = rest_a.iter().zip(rest_b).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + tail
}

pub struct Embedder {
    net: dnn::Net,
    /// Turn each face upright onto `CANONICAL` with its landmarks before embedding. Off: on
    /// the test media it raised strangers' similarity more than returning faces' (FaceNet
    /// was trained on unaligned boxes); `vision accuracy` measures both ways.
    align: bool,
}

/// Where the five landmarks (right eye, left eye, nose tip, right and left mouth corner) sit
/// in the 160×160 input, on average, when the detector's box plus the margin is cropped: the
/// mean over the faces of the test media. Alignment moves every face onto these points, so a
/// tilted head or a loose box gives the same input as a frontal, well-boxed one — while the
/// framing FaceNet was trained on stays.
const CANONICAL: [[f32; 2]; 5] = [
    [52.2, 65.3],
    [107.8, 65.3],
    [80.0, 90.5],
    [54.5, 110.3],
    [105.5, 110.3],
];

/// The similarity transform (rotation, one scale, shift) that carries `from` onto `to` with
/// the least squared error, as the 2×3 matrix `[[a, -b, tx], [b, a, ty]]`; `None` when the
/// points are (almost) all in one place.
pub fn similarity_transform(from: &[[f32; 2]; 5], to: &[[f32; 2]; 5]) -> Option<[[f64; 3]; 2]> {
    let n = from.len() as f64;
    let mean = |pts: &[[f32; 2]; 5]| {
        let (sx, sy) = pts
            .iter()
            .fold((0.0, 0.0), |(x, y), p| (x + p[0] as f64, y + p[1] as f64));
        (sx / n, sy / n)
    };
    let (fx, fy) = mean(from);
    let (tx, ty) = mean(to);
    let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
    for (p, q) in from.iter().zip(to) {
        let (px, py) = (p[0] as f64 - fx, p[1] as f64 - fy);
        let (qx, qy) = (q[0] as f64 - tx, q[1] as f64 - ty);
        dot += px * qx + py * qy;
        cross += px * qy - py * qx;
        norm += px * px + py * py;
    }
    if norm < 4.0 {
        return None;
    }
    let (a, b) = (dot / norm, cross / norm);
    Some([
        [a, -b, tx - (a * fx - b * fy)],
        [b, a, ty - (b * fx + a * fy)],
    ])
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
        Ok(Embedder { net, align: false })
    }

    pub fn set_align(&mut self, align: bool) {
        self.align = align;
    }

    /// The face warped upright onto `CANONICAL` at the input size; `None` without usable
    /// landmarks (then the plain crop is used).
    fn aligned(&self, frame: &Mat, face: &Face) -> Result<Option<Mat>> {
        let [right_eye, left_eye, ..] = face.landmarks;
        let eyes = (left_eye[0] - right_eye[0]).hypot(left_eye[1] - right_eye[1]);
        if !self.align || eyes < 0.1 * face.w.max(face.h) {
            return Ok(None);
        }
        let Some(m) = similarity_transform(&face.landmarks, &CANONICAL) else {
            return Ok(None);
        };
        let matrix = Mat::from_slice_2d(&m)?;
        let mut out = Mat::default();
        imgproc::warp_affine(
            frame,
            &mut out,
            &matrix,
            Size::new(INPUT, INPUT),
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            core::Scalar::default(),
        )?;
        Ok(Some(out))
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
        let resized = match self.aligned(frame, face)? {
            Some(aligned) => aligned,
            None => {
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
                resized
            }
        };
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
    fn the_vectorised_dot_product_equals_the_plain_one() {
        for n in [0, 1, 7, 8, 9, 100, DIM] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 / 7.0 - 0.6).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 13) % 5) as f32 / 3.0 - 0.4).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            assert!((f64::from(cosine(&a, &b)) - plain).abs() < 1e-4, "{n}");
        }
        // Unequal lengths: the shorter one counts, as before.
        assert_eq!(cosine(&[1.0, 2.0, 3.0], &[1.0, 1.0]), 3.0);
    }

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
    fn the_similarity_transform_undoes_a_rotation_scale_and_shift() {
        // CANONICAL turned by 30°, halved and moved: the transform must map it back exactly.
        let (sin, cos) = 30f32.to_radians().sin_cos();
        let moved = CANONICAL.map(|[x, y]| {
            [
                0.5 * (cos * x - sin * y) + 200.0,
                0.5 * (sin * x + cos * y) + 40.0,
            ]
        });
        let m = similarity_transform(&moved, &CANONICAL).unwrap();
        for (p, q) in moved.iter().zip(&CANONICAL) {
            let x = m[0][0] * p[0] as f64 + m[0][1] * p[1] as f64 + m[0][2];
            let y = m[1][0] * p[0] as f64 + m[1][1] * p[1] as f64 + m[1][2];
            assert!((x - q[0] as f64).abs() < 1e-3 && (y - q[1] as f64).abs() < 1e-3);
        }
        // Scale 2, turned back by 30°.
        let scale = m[0][0].hypot(m[1][0]);
        assert!((scale - 2.0).abs() < 1e-4, "{scale}");
        assert!((m[1][0].atan2(m[0][0]).to_degrees() + 30.0).abs() < 1e-3);
        // Five points in one place have no transform.
        assert!(similarity_transform(&[[3.0, 3.0]; 5], &CANONICAL).is_none());
    }

    #[test]
    fn normalised_vectors_have_cosine_one_with_themselves() {
        let v = l2_normalise(&[3.0, 4.0]);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
        assert!((v[0] - 0.6).abs() < 1e-6);
    }
}
