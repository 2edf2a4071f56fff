//! Face detection with YuNet 2023mar. OpenCV 4.6's `FaceDetectorYN` cannot load this file, so
//! the network runs through `dnn` and its twelve output tensors are decoded here.

use std::path::Path;

use opencv::core::{self, Mat, Size, Vector};
use opencv::dnn;
use opencv::imgproc;
use opencv::prelude::*;

use crate::{Error, Result};

/// A detected face in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub score: f32,
    /// Right eye, left eye, nose tip, right and left mouth corner.
    pub landmarks: [[f32; 2]; 5],
}

impl Face {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    pub fn iou(&self, other: &Face) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.w).min(other.x + other.w);
        let y2 = (self.y + self.h).min(other.y + other.h);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    pub fn centre(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    fn scaled(mut self, k: f32) -> Face {
        self.x *= k;
        self.y *= k;
        self.w *= k;
        self.h *= k;
        for p in &mut self.landmarks {
            p[0] *= k;
            p[1] *= k;
        }
        self
    }
}

/// The strides YuNet predicts at, and the order its outputs are requested in.
pub const STRIDES: [i32; 3] = [8, 16, 32];
const OUTPUT_NAMES: [&str; 12] = [
    "cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32",
    "kps_8", "kps_16", "kps_32",
];

/// Raw outputs of one stride: `cells` = (pad_h / stride) × (pad_w / stride), row-major.
pub struct StrideOutput<'a> {
    pub stride: i32,
    pub cls: &'a [f32],
    pub obj: &'a [f32],
    pub bbox: &'a [f32],
    pub kps: &'a [f32],
}

/// Turns YuNet's raw outputs for an input of `pad_w`×`pad_h` into faces scoring at least
/// `score_threshold` (before non-maximum suppression). Outputs of the wrong length are an error,
/// not a panic: a different model file must not crash a camera.
pub fn decode(
    outputs: &[StrideOutput<'_>],
    pad_w: i32,
    pad_h: i32,
    score_threshold: f32,
) -> Result<Vec<Face>, String> {
    let mut faces = Vec::new();
    for out in outputs {
        let cols = (pad_w / out.stride) as usize;
        let rows = (pad_h / out.stride) as usize;
        let n = cols * rows;
        if out.cls.len() != n
            || out.obj.len() != n
            || out.bbox.len() != 4 * n
            || out.kps.len() != 10 * n
        {
            return Err(format!(
                "stride {} outputs have lengths {}/{}/{}/{}, expected {n}/{n}/{}/{}",
                out.stride,
                out.cls.len(),
                out.obj.len(),
                out.bbox.len(),
                out.kps.len(),
                4 * n,
                10 * n
            ));
        }
        let s = out.stride as f32;
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                let score = (out.cls[i].clamp(0.0, 1.0) * out.obj[i].clamp(0.0, 1.0)).sqrt();
                if score < score_threshold {
                    continue;
                }
                let b = &out.bbox[4 * i..4 * i + 4];
                let cx = (c as f32 + b[0]) * s;
                let cy = (r as f32 + b[1]) * s;
                let w = b[2].exp() * s;
                let h = b[3].exp() * s;
                let k = &out.kps[10 * i..10 * i + 10];
                let mut landmarks = [[0.0; 2]; 5];
                for (j, p) in landmarks.iter_mut().enumerate() {
                    *p = [(k[2 * j] + c as f32) * s, (k[2 * j + 1] + r as f32) * s];
                }
                faces.push(Face {
                    x: cx - w / 2.0,
                    y: cy - h / 2.0,
                    w,
                    h,
                    score,
                    landmarks,
                });
            }
        }
    }
    Ok(faces)
}

/// Greedy non-maximum suppression: keeps the best-scoring face of each overlapping group.
pub fn nms(mut faces: Vec<Face>, iou_threshold: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.iou(&f) <= iou_threshold) {
            kept.push(f);
        }
    }
    kept
}

pub struct Detector {
    net: dnn::Net,
    names: Vector<String>,
    score_threshold: f32,
    max_side: i32,
}

impl Detector {
    /// Loads the model. `max_side`: frames are downscaled so their longer side is at most this
    /// (faces at a door are large; a smaller input makes detection several times faster).
    pub fn load(path: &Path, score_threshold: f32, max_side: i32) -> Result<Detector> {
        if !path.is_file() {
            return Err(Error::Model {
                path: path.into(),
                message: "file not found (run `make -f vision/vision.mk vision-assets`)".into(),
            });
        }
        let net = dnn::read_net_from_onnx(path).map_err(|e| Error::Model {
            path: path.into(),
            message: e.to_string(),
        })?;
        let names = Vector::<String>::from_iter(OUTPUT_NAMES);
        Ok(Detector {
            net,
            names,
            score_threshold,
            max_side,
        })
    }

    /// Faces in a BGR frame, in the frame's pixel coordinates, best first.
    pub fn detect(&mut self, frame: &Mat) -> Result<Vec<Face>> {
        let (w, h) = (frame.cols(), frame.rows());
        if w <= 0 || h <= 0 {
            return Ok(Vec::new());
        }
        let scale = (self.max_side as f32 / w.max(h) as f32).min(1.0);
        let mut small = Mat::default();
        let input = if scale < 1.0 {
            let size = Size::new(
                ((w as f32 * scale).round() as i32).max(1),
                ((h as f32 * scale).round() as i32).max(1),
            );
            imgproc::resize(frame, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            &small
        } else {
            frame
        };
        let (iw, ih) = (input.cols(), input.rows());
        // YuNet needs sides that are multiples of 32: pad bottom/right with black.
        let pad_w = (iw + 31) / 32 * 32;
        let pad_h = (ih + 31) / 32 * 32;
        let mut padded = Mat::default();
        core::copy_make_border(
            input,
            &mut padded,
            0,
            pad_h - ih,
            0,
            pad_w - iw,
            core::BORDER_CONSTANT,
            core::Scalar::all(0.0),
        )?;
        let blob = dnn::blob_from_image(
            &padded,
            1.0,
            Size::new(pad_w, pad_h),
            core::Scalar::all(0.0),
            false,
            false,
            core::CV_32F,
        )?;
        self.net
            .set_input(&blob, "", 1.0, core::Scalar::default())?;
        let mut outs: Vector<Mat> = Vector::new();
        self.net.forward(&mut outs, &self.names)?;
        if outs.len() != 12 {
            return Err(Error::Model {
                path: "yunet".into(),
                message: format!("expected 12 outputs, got {}", outs.len()),
            });
        }
        let mats: Vec<Mat> = outs.iter().collect();
        let mut data: Vec<&[f32]> = Vec::with_capacity(12);
        for m in &mats {
            data.push(m.data_typed::<f32>()?);
        }
        let strides: Vec<StrideOutput> = (0..3)
            .map(|i| StrideOutput {
                stride: STRIDES[i],
                cls: data[i],
                obj: data[3 + i],
                bbox: data[6 + i],
                kps: data[9 + i],
            })
            .collect();
        let faces = decode(&strides, pad_w, pad_h, self.score_threshold).map_err(|message| {
            Error::Model {
                path: "yunet".into(),
                message,
            }
        })?;
        Ok(nms(faces, 0.3)
            .into_iter()
            .map(|f| f.scaled(1.0 / scale))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds outputs for a 64×32 input with everything zero-scored except the given cells.
    struct Synthetic {
        cls: Vec<Vec<f32>>,
        obj: Vec<Vec<f32>>,
        bbox: Vec<Vec<f32>>,
        kps: Vec<Vec<f32>>,
    }

    const W: i32 = 64;
    const H: i32 = 32;

    impl Synthetic {
        fn new() -> Self {
            let n = |s: i32| ((W / s) * (H / s)) as usize;
            Synthetic {
                cls: STRIDES.iter().map(|&s| vec![0.0; n(s)]).collect(),
                obj: STRIDES.iter().map(|&s| vec![0.0; n(s)]).collect(),
                bbox: STRIDES.iter().map(|&s| vec![0.0; 4 * n(s)]).collect(),
                kps: STRIDES.iter().map(|&s| vec![0.0; 10 * n(s)]).collect(),
            }
        }

        fn set(
            &mut self,
            level: usize,
            row: usize,
            col: usize,
            cls: f32,
            obj: f32,
            bbox: [f32; 4],
        ) {
            let cols = (W / STRIDES[level]) as usize;
            let i = row * cols + col;
            self.cls[level][i] = cls;
            self.obj[level][i] = obj;
            self.bbox[level][4 * i..4 * i + 4].copy_from_slice(&bbox);
            for j in 0..5 {
                self.kps[level][10 * i + 2 * j] = 0.1 * j as f32;
                self.kps[level][10 * i + 2 * j + 1] = 0.2;
            }
        }

        fn outputs(&self) -> Vec<StrideOutput<'_>> {
            (0..3)
                .map(|i| StrideOutput {
                    stride: STRIDES[i],
                    cls: &self.cls[i],
                    obj: &self.obj[i],
                    bbox: &self.bbox[i],
                    kps: &self.kps[i],
                })
                .collect()
        }
    }

    #[test]
    fn decodes_box_score_and_landmarks() {
        let mut s = Synthetic::new();
        // Stride 16, cell (row 1, col 2): centre offset 0.5 → (2.5·16, 1.5·16) = (40, 24);
        // size exp(ln 2)·16 = 32 wide, exp(0)·16 = 16 high.
        s.set(1, 1, 2, 0.81, 1.0, [0.5, 0.5, 2f32.ln(), 0.0]);
        let faces = decode(&s.outputs(), W, H, 0.5).unwrap();
        assert_eq!(faces.len(), 1);
        let f = faces[0];
        assert!((f.score - 0.9).abs() < 1e-5, "score = sqrt(0.81·1)");
        assert!(
            (f.x - 24.0).abs() < 1e-4 && (f.y - 16.0).abs() < 1e-4,
            "{f:?}"
        );
        assert!(
            (f.w - 32.0).abs() < 1e-4 && (f.h - 16.0).abs() < 1e-4,
            "{f:?}"
        );
        // Landmark j: ((0.1·j + col)·16, (0.2 + row)·16).
        assert!((f.landmarks[3][0] - (0.3 + 2.0) * 16.0).abs() < 1e-4);
        assert!((f.landmarks[3][1] - 1.2 * 16.0).abs() < 1e-4);
    }

    #[test]
    fn low_scores_and_clamped_values_are_dropped() {
        let mut s = Synthetic::new();
        s.set(0, 0, 0, 0.3, 0.3, [0.0; 4]); // sqrt(0.09) = 0.3
        s.set(2, 0, 1, 1.7, -0.5, [0.0; 4]); // clamped to 1·0 = 0
        assert!(decode(&s.outputs(), W, H, 0.5).unwrap().is_empty());
    }

    #[test]
    fn wrong_output_lengths_are_an_error() {
        let s = Synthetic::new();
        let mut outs = s.outputs();
        outs[0].bbox = &outs[0].bbox[1..];
        assert!(decode(&outs, W, H, 0.5).is_err());
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let mut s = Synthetic::new();
        s.set(0, 1, 1, 0.64, 1.0, [0.5, 0.5, 1.0, 1.0]); // score 0.8, centre (12,12)
        s.set(0, 1, 2, 0.81, 1.0, [0.0, 0.5, 1.0, 1.0]); // score 0.9, centre (16,12): overlaps
        s.set(0, 2, 7, 0.49, 1.0, [0.5, 0.5, 0.0, 0.0]); // score 0.7, far away
        let faces = nms(decode(&s.outputs(), W, H, 0.5).unwrap(), 0.3);
        assert_eq!(faces.len(), 2);
        assert!((faces[0].score - 0.9).abs() < 1e-5);
        assert!((faces[1].score - 0.7).abs() < 1e-5);
    }
}
