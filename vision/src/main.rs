//! The `vision` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

use vision::config::{Config, Recognition};
use vision::gallery::{Gallery, MatchParams, read_image};
use vision::pipeline::{self, FaceEngine, PHOTO_MAX_SIDE};
use vision::{Result, api, bench};

#[derive(Parser)]
#[command(
    version,
    about = "Avtosalon Analitika cameras: recognise returning clients, see them leave"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cameras of a config file (TOML, or JSON by extension).
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Name the faces in images against a folder gallery (one sub-folder of photos per person);
    /// prints one JSON line per image.
    Identify {
        #[arg(long)]
        gallery: PathBuf,
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Cosine similarity needed to name a person.
        #[arg(long, default_value_t = Recognition::default().threshold)]
        threshold: f32,
        /// Lead the best person needs over the second best.
        #[arg(long, default_value_t = Recognition::default().margin)]
        margin: f32,
        /// Models directory (default `$VISION_MODELS` or ~/.cache/avtosalon/vision/models).
        #[arg(long)]
        models: Option<PathBuf>,
    },
    /// Process every frame of a video (detection, tracking, recognition) and print the speed.
    Bench {
        video: PathBuf,
        /// Optional folder gallery to recognise against (as for `identify`).
        #[arg(long)]
        gallery: Option<PathBuf>,
        /// Also this many enrolled clients (photo + two captures each) with made-up faces,
        /// as a big showroom's gallery: what matching against them costs.
        #[arg(long, default_value_t = 0)]
        extra_clients: usize,
        /// Also this many enrolled staff members with made-up faces.
        #[arg(long, default_value_t = 0)]
        extra_staff: usize,
        #[arg(long)]
        models: Option<PathBuf>,
    },
    /// How many returning faces and strangers are named, with single-photo and multi-template
    /// enrolments, without and with landmark alignment (the test media; one JSON line each).
    Accuracy {
        /// Media directory (default `$VISION_MEDIA` or ~/.cache/avtosalon/vision/media).
        #[arg(long)]
        media: Option<PathBuf>,
        #[arg(long)]
        models: Option<PathBuf>,
    },
    /// Save one frame of a video as a JPEG (an enrolment photo from recorded footage).
    Frame {
        video: PathBuf,
        /// Seconds from the start of the video.
        #[arg(long, default_value_t = 0.0)]
        at: f64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Pair this program as a camera with the one-time code from Settings; prints the token.
    Pair {
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
    },
}

/// One line of `identify` output (field order as documented).
#[derive(Serialize)]
struct IdentifyLine<'a> {
    image: &'a std::path::Path,
    faces: Vec<IdentifiedFace>,
}

#[derive(Serialize)]
struct IdentifiedFace {
    /// x, y, width, height in image pixels.
    r#box: [i32; 4],
    /// Folder name of the person, or null for unknown.
    person: Option<String>,
    similarity: f64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the frame at `at` seconds of `video` to `out` as JPEG.
fn save_frame(video: &std::path::Path, at: f64, out: &std::path::Path) -> Result<()> {
    use opencv::core::{Mat, Vector};
    use opencv::imgcodecs;
    let bad = |message: String| vision::Error::Source {
        source_name: video.display().to_string(),
        message,
    };
    if !at.is_finite() || at < 0.0 {
        return Err(bad(format!("--at {at}: expected seconds from the start")));
    }
    let mut frames = pipeline::VideoFrames::open(video)?;
    let wanted = (at * 1000.0).round() as i64;
    let mut frame = Mat::default();
    loop {
        match frames.next_frame(&mut frame)? {
            Some(t) if t >= wanted => break,
            Some(_) => {}
            None => return Err(bad(format!("the video ends before {at} s"))),
        }
    }
    let params = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, 92]);
    if !imgcodecs::imwrite(out.to_string_lossy().into_owned(), &frame, &params)? {
        return Err(vision::Error::Image {
            path: out.to_path_buf(),
            message: "cannot be written as JPEG".into(),
        });
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { config } => vision::run::run(Config::load(&config)?),
        Command::Frame { video, at, out } => save_frame(&video, at, &out),
        Command::Identify {
            gallery,
            images,
            threshold,
            margin,
            models,
        } => {
            let rec = Recognition {
                threshold,
                margin,
                ..Recognition::default()
            };
            rec.validate().map_err(|message| vision::Error::Config {
                path: "command line".into(),
                message,
            })?;
            let models = models.unwrap_or_else(vision::models_dir);
            let mut engine = FaceEngine::new(
                &models,
                rec.detect_score,
                PHOTO_MAX_SIDE,
                pipeline::load_embedder(&models)?,
            )?;
            let gallery = Gallery::from_dir(&gallery, &mut engine)?;
            let params = MatchParams { threshold, margin };
            // An unreadable image is reported and skipped; the others are still identified.
            let mut unreadable = 0;
            for image in images {
                let mat = match read_image(&image) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("error: {e}");
                        unreadable += 1;
                        continue;
                    }
                };
                let faces: Vec<IdentifiedFace> = engine
                    .identify(&mat, &gallery, params)?
                    .into_iter()
                    .map(|(f, m)| IdentifiedFace {
                        r#box: [f.x, f.y, f.w, f.h].map(|v| v.round() as i32),
                        person: m.person.map(|i| gallery.people[i].name.clone()),
                        similarity: (m.similarity as f64 * 1000.0).round() / 1000.0,
                    })
                    .collect();
                let line = IdentifyLine {
                    image: &image,
                    faces,
                };
                println!("{}", serde_json::to_string(&line).unwrap_or_default());
            }
            if unreadable > 0 {
                return Err(vision::Error::Image {
                    path: "input".into(),
                    message: format!("{unreadable} image(s) could not be read"),
                });
            }
            Ok(())
        }
        Command::Bench {
            video,
            gallery,
            extra_clients,
            extra_staff,
            models,
        } => {
            let models = models.unwrap_or_else(vision::models_dir);
            let rec = Recognition::default();
            let t = std::time::Instant::now();
            let embedder = pipeline::load_embedder(&models)?;
            let facenet_load = t.elapsed().as_secs_f64();
            let gallery = match gallery {
                Some(dir) => {
                    let mut engine = FaceEngine::new(
                        &models,
                        rec.detect_score,
                        PHOTO_MAX_SIDE,
                        embedder.clone(),
                    )?;
                    Gallery::from_dir(&dir, &mut engine)?
                }
                None => Gallery::default(),
            };
            let mut gallery = gallery;
            bench::add_made_up_people(&mut gallery, extra_clients, extra_staff, 1);
            println!(
                "gallery: {} clients, {} staff",
                gallery
                    .people
                    .iter()
                    .filter(|p| p.staff_id.is_none())
                    .count(),
                gallery
                    .people
                    .iter()
                    .filter(|p| p.staff_id.is_some())
                    .count()
            );
            let matching = bench::matching_ms(&gallery, &rec);
            let r = bench::bench(&video, &models, &rec, embedder, gallery)?;
            let mut lat = r.latencies_ms.clone();
            lat.sort_by(f64::total_cmp);
            println!(
                "video: {} ({:.1} s, {} frames)",
                video.display(),
                r.video_seconds,
                r.frames
            );
            println!("frames per second: {:.1}", r.fps());
            println!("real-time factor: {:.2}x", r.realtime_factor());
            println!(
                "embeddings: {} ({:.3} per frame)",
                r.embeddings,
                r.embeddings as f64 / r.frames.max(1) as f64
            );
            println!("decisions: {}", r.decisions.len());
            println!("matching one face against the gallery: {matching:.3} ms");
            for (person, sim, at) in &r.decisions {
                println!(
                    "  at {:.2} s: {} {}",
                    *at as f64 / 1000.0,
                    person.as_deref().unwrap_or("unknown"),
                    sim.map_or(String::new(), |s| format!("{s:.3}"))
                );
            }
            if let (Some(first), Some(last)) = (lat.first(), lat.last()) {
                println!(
                    "face appearing -> event queued: median {:.0} ms, max {:.0} ms (min {first:.0})",
                    lat[lat.len() / 2],
                    last
                );
            }
            println!(
                "model load: FaceNet {facenet_load:.2} s, YuNet {:.2} s",
                r.load_seconds
            );
            if let Some(rss) = bench::peak_rss_mib() {
                println!("peak RSS: {rss:.0} MiB");
            }
            Ok(())
        }
        Command::Accuracy { media, models } => {
            let models = models.unwrap_or_else(vision::models_dir);
            let media = media.unwrap_or_else(vision::media_dir);
            let rec = Recognition::default();
            let mut engine = FaceEngine::new(
                &models,
                rec.detect_score,
                PHOTO_MAX_SIDE,
                pipeline::load_embedder(&models)?,
            )?;
            let params = MatchParams {
                threshold: rec.threshold,
                margin: rec.margin,
            };
            for aligned in [false, true] {
                engine.set_align(aligned);
                for outcome in vision::accuracy::measure(&mut engine, &media, aligned, params)? {
                    println!("{}", serde_json::to_string(&outcome).unwrap_or_default());
                }
            }
            Ok(())
        }
        Command::Pair { server, code } => {
            let code = code.trim();
            if code.is_empty()
                || code.len() > 64
                || !code.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(vision::Error::Config {
                    path: "command line".into(),
                    message: "--code must be the letters and digits shown in Settings".into(),
                });
            }
            let paired = api::Client::new(&server)?.pair(code)?;
            eprintln!(
                "paired as device {} \"{}\" ({} camera, branch {}); put this token in the camera's config:",
                paired.device_id, paired.name, paired.camera_role, paired.branch_id
            );
            println!("{}", paired.token);
            Ok(())
        }
    }
}
