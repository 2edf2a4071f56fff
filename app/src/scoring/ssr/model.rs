//! Training and honest evaluation of two model families on one split: L2
//! logistic regression (linfa-logistic, the original system's model) with the
//! penalty chosen by cross-validation, and gradient-boosted trees (`trees`).
//! Both are fitted on the earlier clients less a validation slice, calibrated
//! on that slice (Platt), and measured on a later, held-out cohort beside a
//! visit-count baseline; the better one on the hold-out is offered.
//!
//! Longer than 400 lines on purpose: about 120 are its tests; fitting,
//! calibrating and evaluating share one data split and are read together.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use super::features::{self, Example};
use super::trees::{self, Forest};

/// L2 strengths (per client) tried by cross-validation, weakest first.
const LAMBDAS: [f64; 3] = [1e-5, 1e-4, 1e-3];
const FOLDS: usize = 3;
/// Cross-validation looks at most at this many training clients (speed:
/// the three strengths rank 4,000 clients as they rank 8,000, in half the
/// time).
const CV_SAMPLE: usize = 4_000;
/// The latest clients (by first visit) held out for evaluation.
const HOLDOUT_SHARE: f64 = 0.25;
/// Every this-many-th training client (buyers and others counted apart) is
/// kept out of fitting: a forest stops on it and is calibrated on it, the
/// logistic model is calibrated on the first such tenth.
const VALIDATION_EVERY: usize = 10;
pub const MIN_BUYERS: usize = 20;

/// A fitted model, oriented so that `probability` is the chance of buying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub features: Vec<String>,
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
    pub alpha: f64,
    /// Models stored before calibration existed have none (identity).
    #[serde(default)]
    pub calibration: Platt,
}

impl LinearModel {
    /// The same function written for another standardisation (`means`,
    /// `scales`): a refit's starting point.
    fn start_for(&self, means: &[f64], scales: &[f64]) -> Fitted {
        let mut intercept = self.intercept;
        let mut weights = Vec::with_capacity(self.weights.len());
        for (((w, old_mean), old_scale), (new_mean, new_scale)) in self
            .weights
            .iter()
            .zip(&self.means)
            .zip(&self.scales)
            .zip(means.iter().zip(scales))
        {
            intercept += w * (new_mean - old_mean) / old_scale;
            weights.push((w * new_scale / old_scale) as f32);
        }
        Fitted {
            weights: Array1::from(weights),
            intercept: intercept as f32,
        }
    }

    pub fn standardize(&self, raw: &[f64]) -> Vec<f64> {
        raw.iter()
            .zip(&self.means)
            .zip(&self.scales)
            .map(|((x, m), s)| (x - m) / s)
            .collect()
    }

    pub fn logit(&self, standardized: &[f64]) -> f64 {
        self.intercept
            + standardized
                .iter()
                .zip(&self.weights)
                .map(|(x, w)| x * w)
                .sum::<f64>()
    }

    pub fn probability(&self, raw: &[f64]) -> f64 {
        self.calibration
            .probability(self.logit(&self.standardize(raw)))
    }

    /// Each feature's push on the log-odds for this client.
    pub fn contributions(&self, raw: &[f64]) -> Vec<f64> {
        self.standardize(raw)
            .iter()
            .zip(&self.weights)
            .map(|(x, w)| x * w)
            .collect()
    }
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Platt scaling: the probability is `sigmoid(a · score + b)`, with `a`, `b`
/// fitted on clients the model did not learn from, so that "30 %" means
/// about 30 of 100 such clients buy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Default for Platt {
    fn default() -> Self {
        Platt { a: 1.0, b: 0.0 }
    }
}

impl Platt {
    pub fn probability(&self, score: f64) -> f64 {
        sigmoid(self.a * score + self.b)
    }

    /// Logistic regression of the outcome on the score (Newton's method,
    /// with Platt's smoothed targets so a perfect split stays finite, and a
    /// light pull towards "as the model says" so a slice with a handful of
    /// buyers cannot stretch the scores to 0 and 100 %).
    pub fn fit(scores: &[f64], labels: &[bool]) -> Platt {
        const PULL: f64 = 1.0;
        let buyers = labels.iter().filter(|y| **y).count() as f64;
        let others = labels.len() as f64 - buyers;
        if buyers == 0.0 || others == 0.0 {
            return Platt::default();
        }
        let (high, low) = ((buyers + 1.0) / (buyers + 2.0), 1.0 / (others + 2.0));
        let (mut a, mut b) = (1.0, 0.0);
        for _ in 0..50 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) =
                (PULL * (a - 1.0), PULL * b, PULL, 0.0, PULL);
            for (s, y) in scores.iter().zip(labels) {
                let p = sigmoid(a * s + b);
                let d = p - if *y { high } else { low };
                let w = (p * (1.0 - p)).max(1e-12);
                ga += d * s;
                gb += d;
                haa += w * s * s;
                hab += w * s;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-18 {
                break;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            a -= da;
            b -= db;
            if da.abs() + db.abs() < 1e-10 {
                break;
            }
        }
        if a.is_finite() && b.is_finite() && a > 0.0 {
            Platt { a, b }
        } else {
            Platt::default()
        }
    }
}

/// Gradient-boosted trees over the same features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeModel {
    pub features: Vec<String>,
    pub forest: Forest,
    pub calibration: Platt,
}

/// The two families a model can be of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Logistic,
    Trees,
}

impl Family {
    /// The `models.algorithm` column.
    pub fn algorithm(self) -> &'static str {
        match self {
            Family::Logistic => "logistic_regression_l2",
            Family::Trees => "gradient_boosted_trees",
        }
    }

    pub fn from_algorithm(algorithm: &str) -> Family {
        if algorithm == Family::Trees.algorithm() {
            Family::Trees
        } else {
            Family::Logistic
        }
    }

    pub fn parse(value: &str) -> Option<Family> {
        match value {
            "logistic" => Some(Family::Logistic),
            "trees" => Some(Family::Trees),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Logistic => "logistic",
            Family::Trees => "trees",
        }
    }
}

/// A trained model of either family.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    Logistic(LinearModel),
    Trees(TreeModel),
}

impl Model {
    pub fn family(&self) -> Family {
        match self {
            Model::Logistic(_) => Family::Logistic,
            Model::Trees(_) => Family::Trees,
        }
    }

    pub fn features(&self) -> &[String] {
        match self {
            Model::Logistic(m) => &m.features,
            Model::Trees(m) => &m.features,
        }
    }

    /// The score before calibration (log-odds).
    pub fn raw(&self, x: &[f64]) -> f64 {
        match self {
            Model::Logistic(m) => m.logit(&m.standardize(x)),
            Model::Trees(m) => m.forest.raw(x),
        }
    }

    pub fn probability(&self, x: &[f64]) -> f64 {
        match self {
            Model::Logistic(m) => m.probability(x),
            Model::Trees(m) => m.calibration.probability(m.forest.raw(x)),
        }
    }

    /// `raw` of many clients (the trees walk them together).
    pub fn raw_batch(&self, rows: &[&[f64]]) -> Vec<f64> {
        match self {
            Model::Logistic(m) => rows.iter().map(|x| m.logit(&m.standardize(x))).collect(),
            Model::Trees(m) => m.forest.raw_batch(rows),
        }
    }

    /// The probability behind a raw score.
    pub fn calibrated(&self, raw: f64) -> f64 {
        match self {
            Model::Logistic(m) => m.calibration.probability(raw),
            Model::Trees(m) => m.calibration.probability(raw),
        }
    }

    /// `probability` of many clients.
    pub fn probabilities(&self, rows: &[&[f64]]) -> Vec<f64> {
        self.raw_batch(rows)
            .into_iter()
            .map(|z| self.calibrated(z))
            .collect()
    }

    /// Each feature's push on the raw score for this client: weight times
    /// standardised value, or the trees' exact Shapley values.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        match self {
            Model::Logistic(m) => m.contributions(x),
            Model::Trees(m) => m.forest.contributions(x),
        }
    }

    /// The raw score of a client about whom nothing is known: with the
    /// contributions it adds up to `raw`.
    pub fn expected(&self) -> f64 {
        match self {
            Model::Logistic(m) => m.intercept,
            Model::Trees(m) => m.forest.expected(),
        }
    }

    /// (feature, weight) for the logistic model, (feature, share of the
    /// loss reduction) for the trees; largest effect first.
    pub fn explained(&self) -> Vec<(String, f64)> {
        let weights = match self {
            Model::Logistic(m) => &m.weights,
            Model::Trees(m) => &m.forest.importance,
        };
        let mut out: Vec<(String, f64)> = self
            .features()
            .iter()
            .cloned()
            .zip(weights.iter().copied())
            .collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        out
    }

    /// The stored body (`models.body`); the family is the `algorithm` column.
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        match self {
            Model::Logistic(m) => serde_json::to_string(m),
            Model::Trees(m) => serde_json::to_string(m),
        }
    }

    pub fn decode(algorithm: &str, body: &str) -> Result<Model, serde_json::Error> {
        Ok(match Family::from_algorithm(algorithm) {
            Family::Logistic => Model::Logistic(serde_json::from_str(body)?),
            Family::Trees => Model::Trees(serde_json::from_str(body)?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub from: f64,
    pub to: f64,
    pub clients: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub roc_auc: f64,
    pub pr_auc: f64,
    pub brier: f64,
    pub baseline_roc_auc: f64,
    pub baseline_pr_auc: f64,
    pub calibration: Vec<CalibrationBin>,
    pub train_count: usize,
    pub test_count: usize,
    pub train_buyers: usize,
    pub test_buyers: usize,
    pub alpha: f64,
    /// Mean cross-validated ROC AUC per L2 strength tried.
    pub cross_validation: Vec<(f64, f64)>,
    pub seconds: f64,
    /// Buyers among the hold-out clients ranked highest, for the plain-words
    /// summary ("of the 100 we rank highest, 61 bought").
    #[serde(default)]
    pub top: TopRanked,
    /// The model active at training time, measured on this same hold-out: a
    /// new model replaces it only when it is not worse here.
    #[serde(default)]
    pub incumbent: Option<HoldoutScore>,
    /// What the model leans on, largest first (see `Model::explained`).
    #[serde(default)]
    pub explained: Vec<(String, f64)>,
    /// Trees in the ensemble (0 for the logistic model).
    #[serde(default)]
    pub trees: usize,
    /// Training clients kept out of fitting for calibration.
    #[serde(default)]
    pub validation_count: usize,
}

/// How many of the `ranked` highest-scored hold-out clients bought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TopRanked {
    pub ranked: usize,
    pub bought: usize,
}

/// A model's quality on a hold-out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HoldoutScore {
    pub model_id: i64,
    pub roc_auc: f64,
    pub pr_auc: f64,
}

/// How far below the active model's PR AUC a new model may come out and
/// still replace it: refits on the same data differ by a few thousandths.
pub const REPLACE_TOLERANCE: f64 = 0.005;

impl Metrics {
    /// Whether the model measured here should replace the active one.
    pub fn beats_incumbent(&self) -> bool {
        self.incumbent
            .is_none_or(|old| self.pr_auc + REPLACE_TOLERANCE >= old.pr_auc)
    }
}

/// Buyers among the `k` highest scores.
pub fn top_ranked(scores: &[f64], labels: &[bool], k: usize) -> TopRanked {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let ranked = k.min(scores.len());
    TopRanked {
        ranked,
        bought: order[..ranked].iter().filter(|&&i| labels[i]).count(),
    }
}

/// Why no model could be trained; the previous one stays active.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("not enough sales to learn from: {buyers} buyers, at least {needed} needed")]
    TooFewSales { buyers: usize, needed: usize },
    #[error("only one class in the data: every client {0}")]
    OneClass(&'static str),
    #[error("the optimiser failed: {0}")]
    Fit(String),
}

/// Area under the ROC curve (Mann–Whitney, ties count half).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j) as f64 / 2.0 + 1.0;
        for k in &order[i..=j] {
            if labels[*k] {
                rank_sum += mid_rank;
            }
        }
        i = j + 1;
    }
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Average precision: the area under the precision–recall curve, with
/// tied scores taken as one threshold (as scikit-learn's
/// `average_precision_score`: trees give many clients the same score).
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|l| **l).count() as f64;
    if positives == 0.0 {
        return f64::NAN;
    }
    let (mut hits, mut sum, mut i) = (0.0, 0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let new_hits = order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        hits += new_hits;
        sum += new_hits * hits / (j + 1) as f64;
        i = j + 1;
    }
    sum / positives
}

pub fn brier(probabilities: &[f64], labels: &[bool]) -> f64 {
    probabilities
        .iter()
        .zip(labels)
        .map(|(p, y)| (p - if *y { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / probabilities.len().max(1) as f64
}

pub fn calibration(probabilities: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    (0..10)
        .map(|b| {
            let (from, to) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
            let members: Vec<usize> = (0..probabilities.len())
                .filter(|&i| {
                    probabilities[i] >= from
                        && (probabilities[i] < to || (b == 9 && probabilities[i] <= 1.0))
                })
                .collect();
            let n = members.len();
            CalibrationBin {
                from,
                to,
                clients: n,
                mean_predicted: if n > 0 {
                    members.iter().map(|&i| probabilities[i]).sum::<f64>() / n as f64
                } else {
                    0.0
                },
                observed_rate: if n > 0 {
                    members.iter().filter(|&&i| labels[i]).count() as f64 / n as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}

fn standardizer(rows: &[&Example]) -> (Vec<f64>, Vec<f64>) {
    let width = features::width();
    let n = rows.len().max(1) as f64;
    let mut means = vec![0.0; width];
    for r in rows {
        for (m, x) in means.iter_mut().zip(r.values.iter()) {
            *m += x / n;
        }
    }
    let mut scales = vec![0.0; width];
    for r in rows {
        for ((s, x), m) in scales.iter_mut().zip(r.values.iter()).zip(&means) {
            *s += (x - m).powi(2) / n;
        }
    }
    // A constant column gets scale 1 so it stays 0 after centring.
    let scales = scales
        .into_iter()
        .map(|v| if v.sqrt() < 1e-9 { 1.0 } else { v.sqrt() })
        .collect();
    (means, scales)
}

/// Standardised features (one row per client) and whether each bought.
/// Single precision: the optimiser streams this matrix on every step, and
/// half the bytes make the fit nearly twice as fast for the same model.
struct Matrix {
    x: Array2<f32>,
    y: Array1<bool>,
}

impl Matrix {
    fn new(rows: &[&Example], means: &[f64], scales: &[f64]) -> Matrix {
        let width = features::width();
        let mut x = Array2::<f32>::zeros((rows.len(), width));
        for (i, r) in rows.iter().enumerate() {
            for j in 0..width {
                x[[i, j]] = ((r.values[j] - means[j]) / scales[j]) as f32;
            }
        }
        Matrix {
            x,
            y: rows.iter().map(|r| r.bought).collect(),
        }
    }

    fn rows(&self, picked: &[usize]) -> Matrix {
        Matrix {
            x: self.x.select(Axis(0), picked),
            y: self.y.select(Axis(0), picked),
        }
    }
}

/// Weights and intercept on standardised features, oriented towards buying.
#[derive(Clone)]
struct Fitted {
    weights: Array1<f32>,
    intercept: f32,
}

impl Fitted {
    fn logits(&self, x: &Array2<f32>) -> Vec<f64> {
        (x.dot(&self.weights) + self.intercept)
            .iter()
            .map(|v| f64::from(*v))
            .collect()
    }
}

/// Fits L2 logistic regression with penalty `lambda` per client, optionally
/// starting from an earlier solution (a warm start needs far fewer steps).
fn fit(data: &Matrix, lambda: f64, start: Option<&Fitted>) -> Result<Fitted, TrainError> {
    let n = data.y.len();
    let buyers = data.y.iter().filter(|b| **b).count();
    if buyers == 0 {
        return Err(TrainError::OneClass("did not buy"));
    }
    if buyers == n {
        return Err(TrainError::OneClass("bought"));
    }
    // linfa-logistic calls the larger class "positive" (the first seen on a
    // tie), so a start given in "bought" terms is turned around to match.
    let buyers_positive = buyers * 2 > n || (buyers * 2 == n && data.y[0]);
    let mut params = LogisticRegression::default()
        // linfa sums the loss over clients; a per-client penalty keeps the
        // same strength on a 5,000-client fold and the 75,000-client fit.
        .alpha((lambda * n as f64) as f32)
        .max_iterations(200)
        // A mean gradient of 1e-4 per client moves probabilities by far less
        // than the three decimals shown.
        .gradient_tolerance((1e-4 * n as f64) as f32);
    if let Some(start) = start {
        let sign = if buyers_positive { 1.0 } else { -1.0 };
        let mut initial = start.weights.mapv(|w| sign * w).to_vec();
        initial.push(sign * start.intercept);
        params = params.initial_params(Array1::from(initial));
    }
    let fitted = params
        .fit(&Dataset::new(data.x.clone(), data.y.clone()))
        .map_err(|e| TrainError::Fit(e.to_string()))?;
    // Turn the model around when it learned "not bought" as the positive class.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Fitted {
        weights: fitted.params().mapv(|w| sign * w),
        intercept: sign * fitted.intercept(),
    })
}

/// The plain-words summary counts buyers among this many top-ranked
/// hold-out clients: 100, or a tenth of a small hold-out (the top 100 of
/// 100 would say nothing).
fn top_count(holdout: usize) -> usize {
    (holdout / 10).clamp(1, 100)
}

/// What one training produced: a model of each family with its metrics on
/// the same hold-out, and which of them to offer.
#[derive(Debug)]
pub struct Trained {
    pub candidates: Vec<(Model, Metrics)>,
    pub chosen: usize,
}

/// Which candidate to offer: the `pinned` family if an admin pinned one,
/// else the higher PR AUC on the hold-out, and between two within a
/// thousandth of each other the better calibrated (lower Brier).
fn choose(candidates: &[(Model, Metrics)], pinned: Option<Family>) -> usize {
    if let Some(i) = pinned.and_then(|f| candidates.iter().position(|(m, _)| m.family() == f)) {
        return i;
    }
    let mut best = 0;
    for (i, (_, m)) in candidates.iter().enumerate().skip(1) {
        let b = &candidates[best].1;
        let better = if (m.pr_auc - b.pr_auc).abs() < 1e-3 {
            m.brier < b.brier
        } else {
            m.pr_auc > b.pr_auc
        };
        if better {
            best = i;
        }
    }
    best
}

/// The logistic model's fit in parts that can run on different cores: the
/// cross-validation of the penalty fold by fold (`fold`), then the final fit
/// on all fitting clients, calibrated on the validation slice (`finish`).
struct LogisticFit<'a> {
    started: std::time::Instant,
    means: Vec<f64>,
    scales: Vec<f64>,
    train_data: Matrix,
    folds: Vec<(Matrix, Matrix)>,
    /// The last logistic model, fitted on nearly the same clients, is close
    /// to the answer: every fit starts there and takes a few steps, not
    /// dozens.
    previous: Option<Fitted>,
    validation: &'a [&'a Example],
}

/// One fold's fits, a strength each: the solution (if it converged) and its
/// AUC on the fold's check clients.
type FoldResult = Vec<(Option<Fitted>, f64)>;

impl<'a> LogisticFit<'a> {
    fn new(
        fitting: &[&Example],
        validation: &'a [&'a Example],
        previous: Option<&LinearModel>,
    ) -> LogisticFit<'a> {
        let started = std::time::Instant::now();
        // Scaling uses the fitting clients' features only (never labels, never the hold-out).
        let (means, scales) = standardizer(fitting);
        let train_data = Matrix::new(fitting, &means, &scales);
        let previous = previous
            .filter(|p| p.features == features::names())
            .map(|p| p.start_for(&means, &scales));
        // The L2 strength is chosen by k-fold cross-validation on a sample of the training clients.
        let stride = (fitting.len() / CV_SAMPLE).max(1);
        let sample: Vec<usize> = (0..fitting.len()).step_by(stride).collect();
        let folds = (0..FOLDS)
            .map(|fold| {
                let fit_rows: Vec<usize> = (0..sample.len())
                    .filter(|i| i % FOLDS != fold)
                    .map(|i| sample[i])
                    .collect();
                let check_rows: Vec<usize> = (0..sample.len())
                    .filter(|i| i % FOLDS == fold)
                    .map(|i| sample[i])
                    .collect();
                (train_data.rows(&fit_rows), train_data.rows(&check_rows))
            })
            .collect();
        LogisticFit {
            started,
            means,
            scales,
            train_data,
            folds,
            previous,
            validation,
        }
    }

    /// Every strength on one fold, each starting from the previous
    /// strength's solution.
    fn fold(&self, fold: usize) -> FoldResult {
        let (fit_data, check) = &self.folds[fold];
        let mut out: FoldResult = Vec::new();
        for lambda in LAMBDAS {
            let start = out
                .iter()
                .rev()
                .find_map(|(s, _)| s.as_ref())
                .or(self.previous.as_ref());
            match fit(fit_data, lambda, start) {
                Ok(model) => {
                    let auc = roc_auc(&model.logits(&check.x), &check.y.to_vec());
                    out.push((Some(model), auc));
                }
                Err(_) => out.push((None, f64::NAN)),
            }
        }
        out
    }

    /// The strength with the best mean AUC over the folds, the final fit
    /// with it, and its calibration; with the cross-validated AUCs.
    fn finish(&self, folds: Vec<FoldResult>) -> Result<(LinearModel, Vec<(f64, f64)>), TrainError> {
        let cross_validation: Vec<(f64, f64)> = LAMBDAS
            .iter()
            .enumerate()
            .map(|(i, lambda)| {
                let aucs: Vec<f64> = folds
                    .iter()
                    .filter_map(|f| f.get(i).map(|(_, auc)| *auc))
                    .filter(|auc| auc.is_finite())
                    .collect();
                let mean = if aucs.is_empty() {
                    f64::NAN
                } else {
                    aucs.iter().sum::<f64>() / aucs.len() as f64
                };
                (*lambda, mean)
            })
            .collect();
        let best = cross_validation
            .iter()
            .enumerate()
            .filter(|(_, (_, auc))| auc.is_finite())
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .map(|(i, _)| i);
        let lambda = best.map(|i| LAMBDAS[i]).unwrap_or(LAMBDAS[1]);

        // The final fit starts from the last model, else from the mean of the
        // chosen strength's fold solutions.
        let start = best
            .filter(|_| self.previous.is_none())
            .map(|i| {
                folds
                    .iter()
                    .filter_map(|f| f.get(i).and_then(|(s, _)| s.as_ref()))
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .map(|s| Fitted {
                weights: s
                    .iter()
                    .fold(Array1::zeros(features::width()), |sum, f| sum + &f.weights)
                    / s.len() as f32,
                intercept: s.iter().map(|f| f.intercept).sum::<f32>() / s.len() as f32,
            });
        let final_began = std::time::Instant::now();
        let fitted = fit(
            &self.train_data,
            lambda,
            start.as_ref().or(self.previous.as_ref()),
        )?;
        tracing::info!(
            since_start_seconds = self.started.elapsed().as_secs_f64(),
            final_fit_seconds = final_began.elapsed().as_secs_f64(),
            "logistic model fitted"
        );
        let mut model = LinearModel {
            features: features::names(),
            means: self.means.clone(),
            scales: self.scales.clone(),
            weights: fitted.weights.iter().map(|w| f64::from(*w)).collect(),
            intercept: f64::from(fitted.intercept),
            alpha: lambda,
            calibration: Platt::default(),
        };
        let logits: Vec<f64> = self
            .validation
            .iter()
            .map(|e| model.logit(&model.standardize(&e.values)))
            .collect();
        let labels: Vec<bool> = self.validation.iter().map(|e| e.bought).collect();
        model.calibration = Platt::fit(&logits, &labels);
        Ok((model, cross_validation))
    }
}

/// The clients one forest learns from and the tenth it stops on.
struct Slice<'a> {
    fitting: Vec<&'a Example>,
    /// Where the fitting clients are in `train`.
    fitting_rows: Vec<u32>,
    validation: Vec<&'a Example>,
}

impl<'a> Slice<'a> {
    /// Every tenth buyer and every tenth other client (counting from
    /// `offset`) are set aside: stratified, and the same on every run.
    fn of(train: &[&'a Example], offset: usize) -> Slice<'a> {
        let (mut fitting, mut fitting_rows, mut validation) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = [0usize; 2];
        for (row, e) in train.iter().enumerate() {
            seen[usize::from(e.bought)] += 1;
            if seen[usize::from(e.bought)] % VALIDATION_EVERY == offset {
                validation.push(*e);
            } else {
                fitting.push(*e);
                fitting_rows.push(row as u32);
            }
        }
        Slice {
            fitting,
            fitting_rows,
            validation,
        }
    }
}

fn rows<'a>(examples: &[&'a Example]) -> (Vec<&'a [f64]>, Vec<bool>) {
    (
        examples.iter().map(|e| &e.values[..]).collect(),
        examples.iter().map(|e| e.bought).collect(),
    )
}

/// One forest on a slice's fitting clients (binned with the rest of the
/// training clients in `bins`, `labels` theirs), stopped on its validation
/// tenth; with its raw scores of that tenth (which it never learnt from).
fn fit_forest(bins: &trees::Bins, labels: &[bool], slice: &Slice) -> (trees::Forest, Vec<f64>) {
    let (check, check_labels) = rows(&slice.validation);
    let forest = trees::fit_binned(bins, &slice.fitting_rows, labels, (&check, &check_labels));
    let raw = forest.raw_batch(&check);
    (forest, raw)
}

/// The averaged forests, calibrated on each forest's own validation
/// tenth: every client there is scored by the forest that did not learn
/// from them (the average's other half did, so it cannot be used).
fn trees_model(fitted: Vec<((trees::Forest, Vec<f64>), &Slice)>) -> TreeModel {
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    let mut forests = Vec::new();
    for ((forest, raw), slice) in fitted {
        scores.extend(raw);
        labels.extend(slice.validation.iter().map(|e| e.bought));
        forests.push(forest);
    }
    TreeModel {
        features: features::names(),
        calibration: Platt::fit(&scores, &labels),
        forest: trees::Forest::average(forests),
    }
}

/// `per_rows` of `rows`, half of them on each core when there are enough
/// to pay for a thread (a thousand clients take a forest about 2 ms).
pub fn on_both_cores(rows: &[&[f64]], per_rows: impl Fn(&[&[f64]]) -> Vec<f64> + Sync) -> Vec<f64> {
    super::cores::halves(rows, 2_000, per_rows)
}

/// Trains both families on the earlier clients and evaluates them on the
/// latest ones, beside the visit-count baseline and the `incumbent` (the
/// active model, with its id). `pinned`: the family an admin insists on.
pub fn train(
    examples: &[Example],
    incumbent: Option<(i64, &Model)>,
    pinned: Option<Family>,
) -> Result<Trained, TrainError> {
    train_after(examples, incumbent, pinned, None)
}

/// `train`, the logistic fit starting from `previous_logistic` (the last
/// one stored): the same model in a fraction of the time.
pub fn train_after(
    examples: &[Example],
    incumbent: Option<(i64, &Model)>,
    pinned: Option<Family>,
    previous_logistic: Option<&LinearModel>,
) -> Result<Trained, TrainError> {
    let began = std::time::Instant::now();
    let buyers = examples.iter().filter(|e| e.bought).count();
    if buyers == 0 {
        return Err(TrainError::OneClass("did not buy"));
    }
    if buyers == examples.len() {
        return Err(TrainError::OneClass("bought"));
    }
    if buyers < MIN_BUYERS {
        return Err(TrainError::TooFewSales {
            buyers,
            needed: MIN_BUYERS,
        });
    }
    // Time-based hold-out: the newest clients by first visit.
    let mut by_time: Vec<&Example> = examples.iter().collect();
    by_time.sort_by_key(|e| (e.first_visit_at, e.client_id));
    let split = ((by_time.len() as f64) * (1.0 - HOLDOUT_SHARE)).round() as usize;
    let (train, test) = by_time.split_at(split);
    let train_buyers = train.iter().filter(|e| e.bought).count();
    let test_buyers = test.iter().filter(|e| e.bought).count();
    if train_buyers < MIN_BUYERS * 3 / 4 || test_buyers == 0 || test_buyers == test.len() {
        return Err(TrainError::TooFewSales {
            buyers,
            needed: MIN_BUYERS,
        });
    }
    let labels: Vec<bool> = test.iter().map(|e| e.bought).collect();
    let test_rows: Vec<&[f64]> = test.iter().map(|e| &e.values[..]).collect();
    // The visit-count baseline and the active model on the same hold-out,
    // worked out by whichever core is free first.
    let compared = || {
        let visits_at = features::names()
            .iter()
            .position(|n| n == "visits_total")
            .unwrap_or(0);
        let visits: Vec<f64> = test.iter().map(|e| e.values[visits_at]).collect();
        // A model from other features (an older version) cannot be compared: the new one wins.
        let incumbent = incumbent
            .filter(|(_, old)| old.features() == features::names().as_slice())
            .map(|(model_id, old)| {
                let scores = old.raw_batch(&test_rows);
                HoldoutScore {
                    model_id,
                    roc_auc: roc_auc(&scores, &labels),
                    pr_auc: pr_auc(&scores, &labels),
                }
            });
        (
            roc_auc(&visits, &labels),
            pr_auc(&visits, &labels),
            incumbent,
        )
    };
    // Two forests on different tenths set aside; the logistic model uses
    // the first forest's slice. The logistic model's folds, the two forests,
    // its final fit and the comparison on two cores: each core takes the
    // next job when it is free (the folds first, so the final fit finds
    // them done).
    let slices = [Slice::of(train, 0), Slice::of(train, VALIDATION_EVERY / 2)];
    // Both forests learn from the training clients binned once; the
    // logistic model's plan is made beside the binning.
    let (train_rows, train_labels) = rows(train);
    let plan_logistic = || {
        let planned = std::time::Instant::now();
        let plan = LogisticFit::new(&slices[0].fitting, &slices[0].validation, previous_logistic);
        (plan, planned.elapsed().as_secs_f64())
    };
    let ((bins, binning), (plan, logistic_setup)) = std::thread::scope(|s| {
        let planning = s.spawn(plan_logistic);
        let binning = std::time::Instant::now();
        let bins = trees::Bins::new(&train_rows, &features::one_hot_groups());
        let binned = (bins, binning.elapsed().as_secs_f64());
        (binned, planning.join().unwrap_or_else(|_| plan_logistic()))
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let folds = std::sync::Mutex::new(Vec::new());
    let folds_done = std::sync::Condvar::new();
    let logistic = std::sync::Mutex::new(None);
    let forests = std::sync::Mutex::new(Vec::new());
    let comparison = std::sync::Mutex::new(None);
    let work = || {
        loop {
            let job = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let started = std::time::Instant::now();
            match job.checked_sub(FOLDS) {
                None => {
                    // A fold that panics counts as failed fits: the final
                    // fit must not wait for it forever.
                    let fitted =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan.fold(job)))
                            .unwrap_or_default();
                    let seconds = started.elapsed().as_secs_f64();
                    folds
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((job, fitted, seconds));
                    folds_done.notify_all();
                }
                Some(forest @ (0 | 1)) => {
                    let fitted = fit_forest(&bins, &train_labels, &slices[forest]);
                    let seconds = started.elapsed().as_secs_f64();
                    forests
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((forest, fitted, seconds));
                }
                Some(2) => {
                    // The other core may still be on the last fold.
                    let mut done = folds.lock().unwrap_or_else(|e| e.into_inner());
                    while done.len() < FOLDS {
                        done = folds_done.wait(done).unwrap_or_else(|e| e.into_inner());
                    }
                    let mut done = std::mem::take(&mut *done);
                    done.sort_by_key(|(fold, _, _)| *fold);
                    let waited = started.elapsed().as_secs_f64();
                    let folds_seconds: f64 = done.iter().map(|(_, _, s)| s).sum();
                    let fitted = plan.finish(done.into_iter().map(|(_, f, _)| f).collect());
                    // Core time, as the model page shows it.
                    let seconds =
                        logistic_setup + folds_seconds + started.elapsed().as_secs_f64() - waited;
                    *logistic.lock().unwrap_or_else(|e| e.into_inner()) = Some((fitted, seconds));
                }
                Some(3) => {
                    *comparison.lock().unwrap_or_else(|e| e.into_inner()) = Some(compared());
                }
                Some(_) => break,
            }
        }
    };
    let jobs_began = began.elapsed().as_secs_f64();
    std::thread::scope(|s| {
        let helper = s.spawn(work);
        work();
        helper.join()
    })
    .map_err(|_| TrainError::Fit("a model could not be fitted".into()))?;
    let jobs_ended = began.elapsed().as_secs_f64();
    let (logistic, logistic_seconds) = logistic
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or_else(|| TrainError::Fit("the logistic model was not fitted".into()))?;
    let (logistic, cross_validation) = logistic?;
    let (baseline_roc_auc, baseline_pr_auc, incumbent) = comparison
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or_else(|| TrainError::Fit("the hold-out comparison was not made".into()))?;
    let logistic = Model::Logistic(logistic);
    let mut forests = forests.into_inner().unwrap_or_else(|e| e.into_inner());
    forests.sort_by_key(|(i, _, _)| *i);
    let forest_seconds = binning + forests.iter().map(|(_, _, s)| s).sum::<f64>();
    let forest = Model::Trees(trees_model(
        forests
            .into_iter()
            .map(|(i, fitted, _)| (fitted, &slices[i]))
            .collect(),
    ));
    tracing::info!(
        logistic_seconds,
        forest_seconds,
        binning_seconds = binning,
        "both families fitted"
    );

    let measure = |model: &Model, seconds: f64| {
        // Ranking figures from the raw score: calibration keeps the order,
        // but far-out scores round to the same 0 or 1 and would tie.
        let scores = on_both_cores(&test_rows, |rows| model.raw_batch(rows));
        let probabilities: Vec<f64> = scores.iter().map(|z| model.calibrated(*z)).collect();
        let (alpha, cross_validation, trees) = match model {
            Model::Logistic(m) => (m.alpha, cross_validation.clone(), 0),
            Model::Trees(m) => (0.0, Vec::new(), m.forest.trees.len()),
        };
        Metrics {
            top: top_ranked(&scores, &labels, top_count(test.len())),
            incumbent,
            roc_auc: roc_auc(&scores, &labels),
            pr_auc: pr_auc(&scores, &labels),
            brier: brier(&probabilities, &labels),
            baseline_roc_auc,
            baseline_pr_auc,
            calibration: calibration(&probabilities, &labels),
            train_count: train.len(),
            test_count: test.len(),
            train_buyers,
            test_buyers,
            alpha,
            cross_validation,
            seconds,
            explained: model.explained(),
            trees,
            validation_count: slices[0].validation.len(),
        }
    };
    let candidates = vec![
        (logistic.clone(), measure(&logistic, logistic_seconds)),
        (forest.clone(), measure(&forest, forest_seconds)),
    ];
    let chosen = choose(&candidates, pinned);
    // Where the wall time of a fit goes: before the jobs (split, binning,
    // the logistic plan), the jobs on both cores, the hold-out figures.
    tracing::debug!(
        before_jobs_seconds = jobs_began,
        jobs_seconds = jobs_ended - jobs_began,
        after_jobs_seconds = began.elapsed().as_secs_f64() - jobs_ended,
        "fit phases"
    );
    Ok(Trained { candidates, chosen })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_inverted_scores() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), 0.0);
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &labels), 0.5);
        assert_eq!(pr_auc(&[0.1, 0.2, 0.8, 0.9], &labels), 1.0);
        assert!((brier(&[1.0, 0.0], &[true, false])).abs() < 1e-12);
    }

    /// Synthetic clients where test drives drive buying; `share` of them buy.
    fn synthetic(n: usize, share: f64) -> Vec<Example> {
        let width = features::width();
        let drives = features::names()
            .iter()
            .position(|f| f == "test_drives")
            .unwrap();
        let visits = features::names()
            .iter()
            .position(|f| f == "visits_total")
            .unwrap();
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        // drives·1.5 + noise is spread over [0, 4); the top corner above the
        // cut holds `share` of the clients.
        let cut = 4.0 - (6.0 * share).sqrt();
        (0..n)
            .map(|i| {
                let mut values = vec![0.0; width];
                values[drives] = next() * 2.0;
                values[visits] = next() * 2.0;
                // Buying is likelier with more test drives; noise keeps it honest.
                let bought = values[drives] * 1.5 + next() > cut;
                Example {
                    client_id: i as i64,
                    cutoff: 0,
                    bought,
                    first_visit_at: i as i64,
                    values: values.into(),
                }
            })
            .collect()
    }

    fn logistic(trained: &Trained) -> (LinearModel, Metrics) {
        match &trained.candidates[0] {
            (Model::Logistic(m), metrics) => (m.clone(), metrics.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn few_buyers_still_point_the_right_way_in_both_families() {
        let examples = synthetic(5_000, 0.02);
        let buyers = examples.iter().filter(|e| e.bought).count();
        assert!(
            buyers > 40 && (buyers as f64) < 0.05 * 5_000.0,
            "{buyers} buyers"
        );
        let trained = train(&examples, None, None).unwrap();
        let drives = features::names()
            .iter()
            .position(|f| f == "test_drives")
            .unwrap();
        let (linear, _) = logistic(&trained);
        // More test drives must mean a higher chance to buy, not a lower one.
        assert!(linear.weights[drives] > 0.0, "{:?}", linear.weights);
        assert_eq!(trained.candidates.len(), 2);
        for (model, metrics) in &trained.candidates {
            assert!(metrics.roc_auc > 0.7, "{:?} {metrics:?}", model.family());
            let mut hot = examples[0].values.to_vec();
            hot[drives] = 2.0;
            let mut cold = hot.clone();
            cold[drives] = 0.0;
            assert!(
                model.probability(&hot) > model.probability(&cold),
                "{:?}",
                model.family()
            );
            // Contributions and the expected score add up to the raw score.
            let sum = model.expected() + model.contributions(&hot).iter().sum::<f64>();
            assert!((sum - model.raw(&hot)).abs() < 1e-6, "{:?}", model.family());
        }
        assert_eq!(trained.candidates[1].0.family(), Family::Trees);
        assert!(trained.candidates[1].1.trees > 0);
    }

    #[test]
    fn a_refit_starts_from_the_last_logistic_model_and_reaches_the_same() {
        let examples = synthetic(3_000, 0.1);
        let first = train(&examples, None, None).unwrap();
        let (last, _) = logistic(&first);
        // The starting point is the last model's function, rewritten for
        // another standardisation.
        let (means, scales): (Vec<f64>, Vec<f64>) = last
            .means
            .iter()
            .zip(&last.scales)
            .map(|(m, s)| (m + 0.3, s * 1.7))
            .unzip();
        let start = last.start_for(&means, &scales);
        let moved = LinearModel {
            means,
            scales,
            weights: start.weights.iter().map(|w| f64::from(*w)).collect(),
            intercept: f64::from(start.intercept),
            ..last.clone()
        };
        for e in examples.iter().take(50) {
            let (a, b) = (
                last.logit(&last.standardize(&e.values)),
                moved.logit(&moved.standardize(&e.values)),
            );
            assert!((a - b).abs() < 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
        }
        let again = train_after(&examples, None, None, Some(&last)).unwrap();
        let (refit, metrics) = logistic(&again);
        assert!((metrics.roc_auc - first.candidates[0].1.roc_auc).abs() < 0.01);
        let drives = features::names()
            .iter()
            .position(|f| f == "test_drives")
            .unwrap();
        assert!(refit.weights[drives] > 0.0);
    }

    #[test]
    fn the_better_family_is_offered_unless_one_is_pinned() {
        let examples = synthetic(3_000, 0.1);
        let trained = train(&examples, None, None).unwrap();
        let (a, b) = (&trained.candidates[0].1, &trained.candidates[1].1);
        let best = if (a.pr_auc - b.pr_auc).abs() < 1e-3 {
            usize::from(b.brier < a.brier)
        } else {
            usize::from(b.pr_auc > a.pr_auc)
        };
        assert_eq!(trained.chosen, best);
        let pinned = train(&examples, None, Some(Family::Logistic)).unwrap();
        assert_eq!(
            pinned.candidates[pinned.chosen].0.family(),
            Family::Logistic
        );
        let pinned = train(&examples, None, Some(Family::Trees)).unwrap();
        assert_eq!(pinned.candidates[pinned.chosen].0.family(), Family::Trees);
    }

    #[test]
    fn platt_scaling_makes_probabilities_match_rates() {
        // Scores twice as confident as they should be: p = sigmoid(2·s)
        // claimed, sigmoid(s) true.
        let mut next = {
            let mut state = 99u64;
            move || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            }
        };
        let scores: Vec<f64> = (0..20_000).map(|_| next() * 8.0 - 4.0).collect();
        let labels: Vec<bool> = scores.iter().map(|s| next() < sigmoid(s / 2.0)).collect();
        let platt = Platt::fit(&scores, &labels);
        assert!(
            (platt.a - 0.5).abs() < 0.05 && platt.b.abs() < 0.1,
            "{platt:?}"
        );
        let probabilities: Vec<f64> = scores.iter().map(|s| platt.probability(*s)).collect();
        for bin in calibration(&probabilities, &labels) {
            if bin.clients > 500 {
                assert!(
                    (bin.mean_predicted - bin.observed_rate).abs() < 0.05,
                    "{bin:?}"
                );
            }
        }
        assert_eq!(
            Platt::fit(&scores, &vec![false; scores.len()]),
            Platt::default()
        );
    }

    #[test]
    fn a_worse_model_does_not_replace_the_active_one() {
        let examples = synthetic(3_000, 0.1);
        let (good, _) = logistic(&train(&examples, None, None).unwrap());
        // A model that knows nothing (every weight zero) ranks at random.
        let blind = Model::Logistic(LinearModel {
            weights: vec![0.0; good.weights.len()],
            ..good.clone()
        });
        let (_, against_blind) = logistic(&train(&examples, Some((1, &blind)), None).unwrap());
        let old = against_blind.incumbent.unwrap();
        assert_eq!(old.model_id, 1);
        assert!(against_blind.beats_incumbent(), "{against_blind:?}");
        // Against the good model refitted on the same data: not worse, replaces it.
        let refitted = Model::Logistic(good.clone());
        let (_, against_good) = logistic(&train(&examples, Some((2, &refitted)), None).unwrap());
        assert!(against_good.beats_incumbent(), "{against_good:?}");
        // The blind model as the new one would not replace the good one.
        let blind_metrics = Metrics {
            pr_auc: old.pr_auc,
            incumbent: against_good.incumbent,
            ..against_good.clone()
        };
        assert!(!blind_metrics.beats_incumbent());
        // Of the 100 ranked highest, far more bought than of any 100.
        let top = against_good.top;
        let base = against_good.test_buyers as f64 / against_good.test_count as f64;
        assert_eq!(top.ranked, (against_good.test_count / 10).min(100));
        assert!(top.bought as f64 > 2.0 * base * 100.0, "{top:?} vs {base}");
        // An older model with other features is not compared.
        let older = Model::Logistic(LinearModel {
            features: vec!["visits".into()],
            ..good
        });
        let (_, against_older) = logistic(&train(&examples, Some((3, &older)), None).unwrap());
        assert_eq!(against_older.incumbent, None);
    }

    #[test]
    fn one_class_and_too_few_sales_are_refused() {
        let mut examples = synthetic(500, 0.02);
        for e in &mut examples {
            e.bought = false;
        }
        assert_eq!(
            train(&examples, None, None).unwrap_err(),
            TrainError::OneClass("did not buy")
        );
        examples[0].bought = true;
        assert!(matches!(
            train(&examples, None, None).unwrap_err(),
            TrainError::TooFewSales { buyers: 1, .. }
        ));
    }
}
