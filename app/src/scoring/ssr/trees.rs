//! Gradient-boosted decision trees for the purchase model, with exact
//! per-client attributions (TreeSHAP).
//!
//! Written here rather than taken from a crate: the registry's pure-Rust
//! boosters either lack exact attributions or bring a thread pool and
//! formats we do not need, and C++ bindings would make the server build a
//! compiler's worth of LightGBM. One forest is the algorithm of
//! scikit-learn's `HistGradientBoostingClassifier` with its defaults (255
//! bins, leaf-wise trees of 31 leaves, at least 20 clients per leaf,
//! stopping after 10 trees without progress on a validation slice), so the
//! two can be compared on the same exported matrix, but with steps of 0.2
//! and at most 50 trees: the model averages two such forests fitted on
//! different nine tenths of the clients (`Forest::average`). One forest's
//! hold-out figures move by ±0.04 PR AUC with the tenth it leaves out (so
//! do scikit-learn's with its seed); the average of two is steadier and
//! better, in the time of one forest of 100 (BENCHMARKS.md, "Purchase
//! model quality"). One-hot groups (source, segment) are binned as one
//! column each, which is exact because at most one member is set, and
//! halves the histogram work.

use std::ops::Range;

use serde::{Deserialize, Serialize};

const LEARNING_RATE: f64 = 0.2;
const MAX_TREES: usize = 50;
const MAX_LEAVES: usize = 31;
const MIN_SAMPLES_LEAF: usize = 20;
const MIN_HESSIAN: f64 = 1e-3;
const MAX_BINS: usize = 255;
const NO_CHANGE_ROUNDS: usize = 10;
const TOLERANCE: f64 = 1e-7;

/// One node; a leaf has `left == 0` (the root is never a child).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(rename = "f")]
    pub feature: u16,
    /// Clients with `x[feature] <= threshold` go left.
    #[serde(rename = "t")]
    pub threshold: f64,
    #[serde(rename = "l")]
    pub left: u32,
    #[serde(rename = "r")]
    pub right: u32,
    /// A leaf's push on the log-odds (learning rate applied).
    #[serde(rename = "v")]
    pub value: f64,
    /// Training clients that reached the node: the weights TreeSHAP uses
    /// for "this feature unknown".
    #[serde(rename = "c")]
    pub cover: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    fn leaf_of(&self, x: &[f64]) -> usize {
        let mut i = 0;
        while self.nodes[i].left != 0 {
            let n = &self.nodes[i];
            i = if x[n.feature as usize] <= n.threshold {
                n.left
            } else {
                n.right
            } as usize;
        }
        i
    }

    pub fn predict(&self, x: &[f64]) -> f64 {
        self.nodes[self.leaf_of(x)].value
    }

    /// The tree's mean output over the training clients.
    fn expected(&self) -> f64 {
        let root = self.nodes[0].cover.max(1.0);
        self.nodes
            .iter()
            .filter(|n| n.left == 0)
            .map(|n| n.value * n.cover / root)
            .sum()
    }

    fn depth(&self) -> usize {
        fn below(t: &Tree, i: usize) -> usize {
            let n = &t.nodes[i];
            if n.left == 0 {
                0
            } else {
                1 + below(t, n.left as usize).max(below(t, n.right as usize))
            }
        }
        below(self, 0)
    }
}

/// The boosted trees: log-odds = `base` + the sum of every tree's leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub base: f64,
    pub trees: Vec<Tree>,
    /// Each feature's share of the loss reduction of all splits.
    pub importance: Vec<f64>,
}

/// A node laid out for scoring many clients: children side by side (the
/// right one follows the left), a leaf pointing at itself with an infinite
/// threshold, so every client takes exactly `depth` steps without a branch.
#[derive(Clone, Copy)]
struct Step {
    threshold: f64,
    feature: u32,
    left: u32,
}

/// Clients scored together per tree: independent walks the processor
/// overlaps.
const LANES: usize = 8;

/// One tree laid out for scoring many clients.
struct Walk {
    steps: Vec<Step>,
    values: Vec<f64>,
    depth: usize,
}

impl Walk {
    fn new(tree: &Tree) -> Walk {
        let steps = tree
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if n.left == 0 {
                    Step {
                        threshold: f64::INFINITY,
                        feature: 0,
                        left: i as u32,
                    }
                } else {
                    Step {
                        threshold: n.threshold,
                        feature: u32::from(n.feature),
                        left: n.left,
                    }
                }
            })
            .collect();
        Walk {
            steps,
            values: tree.nodes.iter().map(|n| n.value).collect(),
            depth: tree.depth(),
        }
    }

    /// Adds the tree's leaf value of each row of `block` (gathered rows,
    /// `stride` values each) to its sum.
    fn add_to(&self, block: &[f64], stride: usize, sums: &mut [f64]) {
        for (lanes, lane_sums) in block
            .chunks_exact(LANES * stride)
            .zip(sums.chunks_exact_mut(LANES))
        {
            let mut at = [0u32; LANES];
            for _ in 0..self.depth {
                let mut moved = false;
                for (lane, a) in at.iter_mut().enumerate() {
                    let s = self.steps[*a as usize];
                    let x = lanes[lane * stride + s.feature as usize];
                    let next = s.left + u32::from(x > s.threshold);
                    moved |= next != *a;
                    *a = next;
                }
                // Leaf-wise trees are lopsided: most walks end well
                // before the deepest leaf.
                if !moved {
                    break;
                }
            }
            for (sum, a) in lane_sums.iter_mut().zip(at) {
                *sum += self.values[a as usize];
            }
        }
    }
}

/// Clients laid out for scoring: the first `stride` features of each row
/// side by side in one buffer (a walk then reads a feature at a fixed
/// distance, not through a pointer per client), padded with rows of zeros
/// to whole groups of `LANES`.
struct Gathered {
    values: Vec<f64>,
    stride: usize,
    /// Rows with the padding.
    padded: usize,
}

impl Gathered {
    fn new(rows: &[&[f64]], stride: usize) -> Gathered {
        let stride = stride.max(1);
        let padded = rows.len().div_ceil(LANES) * LANES;
        let mut values = Vec::with_capacity(padded * stride);
        for row in rows {
            values.extend_from_slice(&row[..stride]);
        }
        values.resize(padded * stride, 0.0);
        Gathered {
            values,
            stride,
            padded,
        }
    }
}

impl Forest {
    pub fn raw(&self, x: &[f64]) -> f64 {
        self.base + self.trees.iter().map(|t| t.predict(x)).sum::<f64>()
    }

    /// `raw` of many clients at once (features must be finite, as ours
    /// are): about four times faster than one by one.
    pub fn raw_batch(&self, rows: &[&[f64]]) -> Vec<f64> {
        let compiled: Vec<Walk> = self.trees.iter().map(Walk::new).collect();
        // The features the trees read: the rows' first `stride`.
        let stride = self
            .trees
            .iter()
            .flat_map(|t| t.nodes.iter().filter(|n| n.left != 0))
            .map(|n| usize::from(n.feature) + 1)
            .max()
            .unwrap_or(1);
        let gathered = Gathered::new(rows, stride);
        let mut out = vec![self.base; gathered.padded];
        // A block of clients stays in cache while every tree walks it.
        const BLOCK: usize = 8 * LANES;
        for (block, sums) in gathered
            .values
            .chunks(BLOCK * gathered.stride)
            .zip(out.chunks_mut(BLOCK))
        {
            for walk in &compiled {
                walk.add_to(block, gathered.stride, sums);
            }
        }
        out.truncate(rows.len());
        out
    }

    /// The mean of several forests' log-odds as one forest: every tree kept,
    /// its leaves scaled, so scoring and attributions work unchanged.
    pub fn average(forests: Vec<Forest>) -> Forest {
        let k = forests.len().max(1) as f64;
        let width = forests.first().map_or(0, |f| f.importance.len());
        let mut out = Forest {
            base: forests.iter().map(|f| f.base).sum::<f64>() / k,
            trees: Vec::new(),
            importance: vec![0.0; width],
        };
        for forest in forests {
            for (sum, v) in out.importance.iter_mut().zip(&forest.importance) {
                *sum += v / k;
            }
            out.trees.extend(forest.trees.into_iter().map(|mut tree| {
                tree.nodes.iter_mut().for_each(|n| n.value /= k);
                tree
            }));
        }
        out
    }

    /// Each feature's push on the log-odds for this client (path-dependent
    /// TreeSHAP, Lundberg et al. 2018); with `expected()` they add up to `raw`.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        let mut phi = vec![0.0; self.importance.len()];
        let depth = self.trees.iter().map(Tree::depth).max().unwrap_or(0);
        let mut buffer = vec![PathStep::default(); (depth + 2) * (depth + 3) / 2];
        for tree in &self.trees {
            shap_node(tree, x, 0, &mut buffer, 0, 1.0, 1.0, NO_FEATURE, &mut phi);
        }
        phi
    }

    /// The log-odds before anything is known about the client.
    pub fn expected(&self) -> f64 {
        self.base + self.trees.iter().map(Tree::expected).sum::<f64>()
    }
}

const NO_FEATURE: usize = usize::MAX;

#[derive(Debug, Clone, Copy, Default)]
struct PathStep {
    feature: usize,
    zero: f64,
    one: f64,
    weight: f64,
}

fn extend(path: &mut [PathStep], depth: usize, zero: f64, one: f64, feature: usize) {
    path[depth] = PathStep {
        feature,
        zero,
        one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let d = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / d;
        path[i].weight = zero * path[i].weight * (depth - i) as f64 / d;
    }
}

fn unwind(path: &mut [PathStep], depth: usize, index: usize) {
    let PathStep { zero, one, .. } = path[index];
    let d = (depth + 1) as f64;
    let mut next = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let kept = path[i].weight;
            path[i].weight = next * d / ((i + 1) as f64 * one);
            next = kept - path[i].weight * zero * (depth - i) as f64 / d;
        } else {
            path[i].weight = path[i].weight * d / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

fn unwound_sum(path: &[PathStep], depth: usize, index: usize) -> f64 {
    let PathStep { zero, one, .. } = path[index];
    let mut next = path[depth].weight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let share = next / ((i + 1) as f64 * one);
            total += share;
            next = path[i].weight - share * zero * (depth - i) as f64;
        } else {
            total += path[i].weight / (zero * (depth - i) as f64);
        }
    }
    total * (depth + 1) as f64
}

/// `buffer[..depth]` holds the parent's path; this node's path is built
/// right after it, and its children's after that.
#[allow(clippy::too_many_arguments)]
fn shap_node(
    tree: &Tree,
    x: &[f64],
    node: usize,
    buffer: &mut [PathStep],
    depth: usize,
    zero: f64,
    one: f64,
    feature: usize,
    phi: &mut [f64],
) {
    let (parent, rest) = buffer.split_at_mut(depth);
    rest[..depth].copy_from_slice(parent);
    extend(rest, depth, zero, one, feature);
    let n = &tree.nodes[node];
    if n.left == 0 {
        for i in 1..=depth {
            let step = rest[i];
            phi[step.feature] += unwound_sum(rest, depth, i) * (step.one - step.zero) * n.value;
        }
        return;
    }
    let split = n.feature as usize;
    let (hot, cold) = if x[split] <= n.threshold {
        (n.left as usize, n.right as usize)
    } else {
        (n.right as usize, n.left as usize)
    };
    let cover = n.cover.max(f64::MIN_POSITIVE);
    let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
    let mut depth = depth;
    // A feature split on again further down: undo its earlier step and redo
    // it here, so each feature appears once on the path.
    if let Some(i) = (0..=depth).find(|&i| rest[i].feature == split) {
        incoming_zero = rest[i].zero;
        incoming_one = rest[i].one;
        unwind(rest, depth, i);
        depth -= 1;
    }
    let hot_zero = tree.nodes[hot].cover / cover * incoming_zero;
    let cold_zero = tree.nodes[cold].cover / cover * incoming_zero;
    shap_node(
        tree,
        x,
        hot,
        rest,
        depth + 1,
        hot_zero,
        incoming_one,
        split,
        phi,
    );
    shap_node(tree, x, cold, rest, depth + 1, cold_zero, 0.0, split, phi);
}

/// How one binned column maps to features.
enum Column {
    /// One feature: bin `b` holds `thresholds[b-1] < x <= thresholds[b]`.
    Single {
        feature: usize,
        thresholds: Vec<f64>,
    },
    /// A one-hot group: bin 0 = none set, bin `k + 1` = member `k` set.
    Group { features: Range<usize> },
}

impl Column {
    fn bins(&self) -> usize {
        match self {
            Column::Single { thresholds, .. } => thresholds.len() + 1,
            Column::Group { features } => features.len() + 1,
        }
    }

    fn bin(&self, x: &[f64]) -> u8 {
        match self {
            Column::Single {
                feature,
                thresholds,
            } => thresholds.partition_point(|t| *t < x[*feature]) as u8,
            Column::Group { features } => features
                .clone()
                .position(|f| x[f] > 0.5)
                .map_or(0, |k| k as u8 + 1),
        }
    }
}

/// Cut points like scikit-learn's: midpoints between distinct values when
/// there are few, else quantiles.
fn thresholds(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let mut distinct = values.clone();
    distinct.dedup();
    if distinct.len() <= MAX_BINS {
        return distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    }
    let mut cuts: Vec<f64> = (1..MAX_BINS)
        .map(|k| values[k * values.len() / MAX_BINS])
        .collect();
    cuts.dedup();
    // The largest value must land in the last bin, not on a cut.
    cuts.retain(|c| *c < *distinct.last().unwrap_or(&0.0));
    cuts
}

/// Whether every row has at most one member of `group` set, each 0 or 1.
fn is_one_hot(rows: &[&[f64]], group: &Range<usize>) -> bool {
    rows.iter().all(|x| {
        let set = group.clone().filter(|&f| x[f] != 0.0).count();
        set <= 1 && group.clone().all(|f| x[f] == 0.0 || x[f] == 1.0)
    })
}

/// The binned columns of `rows`; each column's cut points are worked out
/// on whichever core is free (sorting every feature is most of binning).
fn columns(rows: &[&[f64]], width: usize, groups: &[Range<usize>]) -> Vec<Column> {
    let groups: Vec<&Range<usize>> = groups.iter().filter(|g| is_one_hot(rows, g)).collect();
    // Where each column starts: a one-hot group's first feature, else one
    // numeric feature.
    let mut starts = Vec::new();
    let mut feature = 0;
    while feature < width {
        starts.push(feature);
        feature = groups
            .iter()
            .find(|g| g.start == feature)
            .map_or(feature + 1, |g| g.end);
    }
    super::cores::shared(&starts, |&feature| {
        match groups.iter().find(|g| g.start == feature) {
            Some(group) => Column::Group {
                features: (*group).clone(),
            },
            None => Column::Single {
                feature,
                thresholds: thresholds(rows.iter().map(|x| x[feature]).collect()),
            },
        }
    })
}

/// Gradient, hessian and count of the clients in one bin.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    g: f64,
    h: f64,
    n: f64,
}

impl Sums {
    fn add(&mut self, g: f64, h: f64) {
        self.g += g;
        self.h += h;
        self.n += 1.0;
    }
    fn minus(self, o: Sums) -> Sums {
        Sums {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
    fn score(self) -> f64 {
        self.g * self.g / self.h
    }
    fn allowed(self) -> bool {
        self.n >= MIN_SAMPLES_LEAF as f64 && self.h >= MIN_HESSIAN
    }
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    column: usize,
    /// Single: bins `..=bin` go left. Group: member `bin` set goes right.
    bin: usize,
    left: Sums,
}

struct Grown {
    node: usize,
    rows: Vec<u32>,
    hist: Vec<Sums>,
    total: Sums,
    best: Option<Split>,
}

/// The binned training data, row by row (one client's bins side by side:
/// a histogram reads each client's gradient once for all columns), and
/// where each column's histogram starts.
struct Binned {
    columns: Vec<Column>,
    data: Vec<u8>,
    offsets: Vec<usize>,
    bins: usize,
}

impl Binned {
    fn at(&self, row: usize, column: usize) -> u8 {
        self.data[row * self.columns.len() + column]
    }

    fn histogram(&self, rows: &[u32], gradients: &[[f64; 2]], spare: &mut Spare) -> Vec<Sums> {
        // Two histograms, alternate clients: neighbours often fall in the
        // same bin, and one histogram would make each addition wait for
        // the one before.
        let mut even = spare.take(self.bins);
        let odd = &mut spare.odd;
        odd.clear();
        odd.resize(self.bins, Sums::default());
        let mut pairs = rows.chunks_exact(2);
        for pair in &mut pairs {
            self.add(&mut even, pair[0] as usize, gradients);
            self.add(odd, pair[1] as usize, gradients);
        }
        for &r in pairs.remainder() {
            self.add(&mut even, r as usize, gradients);
        }
        for (e, o) in even.iter_mut().zip(odd.iter()) {
            e.g += o.g;
            e.h += o.h;
            e.n += o.n;
        }
        even
    }

    fn add(&self, hist: &mut [Sums], row: usize, gradients: &[[f64; 2]]) {
        let width = self.columns.len();
        let [g, h] = gradients[row];
        let bins = &self.data[row * width..(row + 1) * width];
        for (&bin, &offset) in bins.iter().zip(&self.offsets) {
            hist[offset + bin as usize].add(g, h);
        }
    }

    fn best_split(&self, hist: &[Sums], total: Sums) -> Option<Split> {
        let parent = total.score();
        let mut best: Option<Split> = None;
        let mut consider = |column: usize, bin: usize, left: Sums| {
            let right = total.minus(left);
            if !left.allowed() || !right.allowed() {
                return;
            }
            let gain = left.score() + right.score() - parent;
            if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split {
                    gain,
                    column,
                    bin,
                    left,
                });
            }
        };
        for (c, column) in self.columns.iter().enumerate() {
            let part = &hist[self.offsets[c]..self.offsets[c] + column.bins()];
            match column {
                Column::Single { .. } => {
                    let mut left = Sums::default();
                    for (b, s) in part[..part.len() - 1].iter().enumerate() {
                        left.g += s.g;
                        left.h += s.h;
                        left.n += s.n;
                        consider(c, b, left);
                    }
                }
                Column::Group { .. } => {
                    for (k, s) in part[1..].iter().enumerate() {
                        consider(c, k, total.minus(*s));
                    }
                }
            }
        }
        best
    }

    /// The split's rows, left and right, in their order. Without a branch
    /// per row (which side a client goes is a coin toss to the processor):
    /// each row is written to both sides and only one side's end moves.
    fn partition(&self, split: &Split, rows: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let mut left_of_bin = [false; 256];
        for (b, left) in left_of_bin.iter_mut().enumerate() {
            *left = match self.columns[split.column] {
                Column::Single { .. } => b <= split.bin,
                Column::Group { .. } => b != split.bin + 1,
            };
        }
        let count = split.left.n as usize;
        let mut left = vec![0u32; count + 1];
        let mut right = vec![0u32; rows.len() - count + 1];
        let (mut l, mut r) = (0, 0);
        for &row in rows {
            let goes_left = left_of_bin[self.at(row as usize, split.column) as usize];
            left[l.min(count)] = row;
            right[r.min(rows.len() - count)] = row;
            l += usize::from(goes_left);
            r += usize::from(!goes_left);
        }
        left.truncate(l.min(count));
        right.truncate(r.min(rows.len() - count));
        (left, right)
    }

    /// The split as a feature and threshold on raw values.
    fn rule(&self, split: &Split) -> (usize, f64) {
        match &self.columns[split.column] {
            Column::Single {
                feature,
                thresholds,
            } => (*feature, thresholds[split.bin]),
            Column::Group { features } => (features.start + split.bin, 0.5),
        }
    }
}

/// Histograms of finished leaves, kept for the next ones: a tree needs
/// about sixty, and fresh ones cost more in page faults and zeroing than
/// in additions.
#[derive(Default)]
struct Spare {
    free: Vec<Vec<Sums>>,
    odd: Vec<Sums>,
}

impl Spare {
    fn take(&mut self, bins: usize) -> Vec<Sums> {
        let mut hist = self.free.pop().unwrap_or_default();
        hist.clear();
        hist.resize(bins, Sums::default());
        hist
    }
}

/// A new leaf for the clients summed in `s` (a split later, if split).
fn leaf(s: Sums) -> Node {
    Node {
        feature: 0,
        threshold: 0.0,
        left: 0,
        right: 0,
        value: leaf_value(s),
        cover: s.n,
    }
}

fn leaf_value(s: Sums) -> f64 {
    if s.h <= 0.0 {
        0.0
    } else {
        -LEARNING_RATE * s.g / s.h
    }
}

/// Grows one tree leaf-wise on the gradients of the `fitting` rows;
/// returns it and each leaf's value with its rows.
fn grow(
    binned: &Binned,
    fitting: &[u32],
    gradients: &[[f64; 2]],
    importance: &mut [f64],
    spare: &mut Spare,
) -> (Tree, Vec<(f64, Vec<u32>)>) {
    let rows: Vec<u32> = fitting.to_vec();
    let hist = binned.histogram(&rows, gradients, spare);
    let total = rows.iter().fold(Sums::default(), |mut s, r| {
        let [g, h] = gradients[*r as usize];
        s.add(g, h);
        s
    });
    let mut tree = Tree {
        nodes: vec![leaf(total)],
    };
    let best = binned.best_split(&hist, total);
    let mut leaves = vec![Grown {
        node: 0,
        rows,
        hist,
        total,
        best,
    }];
    while leaves.len() < MAX_LEAVES {
        let Some((at, split)) = leaves
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.best.map(|b| (i, b)))
            .max_by(|a, b| a.1.gain.total_cmp(&b.1.gain))
        else {
            break;
        };
        let parent = leaves.swap_remove(at);
        // The split's counts size both sides exactly: no regrowing.
        let (left_rows, right_rows) = binned.partition(&split, &parent.rows);
        let left_total = split.left;
        let right_total = parent.total.minus(split.left);
        // The smaller child's histogram from its rows, the larger's by subtraction.
        let (small_rows, small_is_left) = if left_rows.len() <= right_rows.len() {
            (&left_rows, true)
        } else {
            (&right_rows, false)
        };
        let small = binned.histogram(small_rows, gradients, spare);
        // The parent's histogram becomes the larger child's.
        let mut large = parent.hist;
        for (p, s) in large.iter_mut().zip(&small) {
            *p = p.minus(*s);
        }
        let (left_hist, right_hist) = if small_is_left {
            (small, large)
        } else {
            (large, small)
        };
        let (feature, threshold) = binned.rule(&split);
        importance[feature] += split.gain;
        let left = tree.nodes.len();
        tree.nodes.push(leaf(left_total));
        tree.nodes.push(leaf(right_total));
        let n = &mut tree.nodes[parent.node];
        n.feature = feature as u16;
        n.threshold = threshold;
        n.left = left as u32;
        n.right = left as u32 + 1;
        for (node, rows, hist, total) in [
            (left, left_rows, left_hist, left_total),
            (left + 1, right_rows, right_hist, right_total),
        ] {
            let best = binned.best_split(&hist, total);
            leaves.push(Grown {
                node,
                rows,
                hist,
                total,
                best,
            });
        }
    }
    let leaves = leaves
        .into_iter()
        .map(|leaf| {
            spare.free.push(leaf.hist);
            (tree.nodes[leaf.node].value, leaf.rows)
        })
        .collect();
    (tree, leaves)
}

fn log_loss(raw: &[f64], labels: &[bool]) -> f64 {
    raw.iter()
        .zip(labels)
        .map(|(z, y)| {
            // log(1 + e^z) - y·z, stable for large |z|.
            let softplus = if *z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            softplus - if *y { *z } else { 0.0 }
        })
        .sum::<f64>()
        / raw.len().max(1) as f64
}

/// Training clients binned once for every forest fitted on them.
pub struct Bins(Binned);

impl Bins {
    /// Bins `rows`; `groups` are one-hot feature ranges (binned together
    /// when they really are one-hot).
    pub fn new(rows: &[&[f64]], groups: &[Range<usize>]) -> Bins {
        let width = rows.first().map_or(0, |r| r.len());
        let columns = columns(rows, width, groups);
        let mut offsets = Vec::with_capacity(columns.len());
        let mut bins = 0;
        for c in &columns {
            offsets.push(bins);
            bins += c.bins();
        }
        let bin_rows = |rows: &[&[f64]]| -> Vec<u8> {
            rows.iter()
                .flat_map(|x| columns.iter().map(|c| c.bin(x)))
                .collect()
        };
        // Half the rows on each core.
        let data = super::cores::halves(rows, 2, bin_rows);
        Bins(Binned {
            columns,
            data,
            offsets,
            bins,
        })
    }

    fn len(&self) -> usize {
        self.0.data.len() / self.0.columns.len().max(1)
    }
}

/// Fits the trees on `rows` (logistic loss), stopping when the loss on
/// `validation` has not improved for 10 rounds. `groups` are one-hot
/// feature ranges (binned together when they really are one-hot).
pub fn fit(
    rows: &[&[f64]],
    labels: &[bool],
    validation: (&[&[f64]], &[bool]),
    groups: &[Range<usize>],
) -> Forest {
    let bins = Bins::new(rows, groups);
    let all: Vec<u32> = (0..rows.len() as u32).collect();
    fit_binned(&bins, &all, labels, validation)
}

/// `fit` on the clients `fitting` of rows binned beforehand (`labels`: of
/// every binned row).
pub fn fit_binned(
    bins: &Bins,
    fitting: &[u32],
    labels: &[bool],
    validation: (&[&[f64]], &[bool]),
) -> Forest {
    let binned = &bins.0;
    let width = binned
        .columns
        .iter()
        .map(|c| match c {
            Column::Single { feature, .. } => feature + 1,
            Column::Group { features } => features.end,
        })
        .max()
        .unwrap_or(0);
    let rows = bins.len();
    let share = fitting.iter().filter(|r| labels[**r as usize]).count() as f64
        / fitting.len().max(1) as f64;
    let share = share.clamp(1e-6, 1.0 - 1e-6);
    let base = (share / (1.0 - share)).ln();
    let (validation_rows, validation_labels) = validation;
    let mut raw = vec![base; rows];
    let validation_gathered = Gathered::new(validation_rows, width);
    let mut validation_raw = vec![base; validation_gathered.padded];
    let checked = validation_rows.len();
    let mut losses = vec![log_loss(&validation_raw[..checked], validation_labels)];
    let mut importance = vec![0.0; width];
    let mut trees = Vec::new();
    let mut gradients = vec![[0.0; 2]; rows];
    let mut spare = Spare::default();
    for _ in 0..MAX_TREES {
        for &r in fitting {
            let r = r as usize;
            let p = 1.0 / (1.0 + (-raw[r]).exp());
            gradients[r] = [
                p - if labels[r] { 1.0 } else { 0.0 },
                (p * (1.0 - p)).max(1e-16),
            ];
        }
        let (tree, leaves) = grow(binned, fitting, &gradients, &mut importance, &mut spare);
        if tree.nodes.len() == 1 {
            break;
        }
        for (value, rows) in leaves {
            for r in rows {
                raw[r as usize] += value;
            }
        }
        Walk::new(&tree).add_to(
            &validation_gathered.values,
            validation_gathered.stride,
            &mut validation_raw,
        );
        trees.push(tree);
        losses.push(log_loss(&validation_raw[..checked], validation_labels));
        // scikit-learn's rule: stop when none of the last 10 rounds beat the
        // loss of the round before them by more than the tolerance.
        if losses.len() > NO_CHANGE_ROUNDS {
            let reference = losses[losses.len() - NO_CHANGE_ROUNDS - 1];
            let recent = &losses[losses.len() - NO_CHANGE_ROUNDS..];
            if recent.iter().all(|l| *l >= reference - TOLERANCE) {
                break;
            }
        }
    }
    let total: f64 = importance.iter().sum();
    if total > 0.0 {
        importance.iter_mut().for_each(|v| *v /= total);
    }
    Forest {
        base,
        trees,
        importance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Four numeric features and a one-hot group of three; buying follows an
    /// interaction (a lot of a AND b high) that no linear model sees.
    fn data(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>) {
        let mut next = lcg(seed);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let mut x = vec![
                next(),
                next(),
                (next() * 5.0).floor(),
                next(),
                0.0,
                0.0,
                0.0,
            ];
            let hot = (next() * 4.0) as usize;
            if hot < 3 {
                x[4 + hot] = 1.0;
            }
            let signal = if x[0] > 0.6 && x[1] > 0.5 { 2.5 } else { -1.0 } + x[5] + 0.3 * x[2];
            labels.push(next() < 1.0 / (1.0 + (-(signal - 1.0)).exp()));
            rows.push(x);
        }
        (rows, labels)
    }

    fn forest(n: usize) -> (Forest, Vec<Vec<f64>>, Vec<bool>) {
        let (rows, labels) = data(n, 7);
        let (check, check_labels) = data(n / 5, 8);
        let r: Vec<&[f64]> = rows.iter().map(|x| x.as_slice()).collect();
        let c: Vec<&[f64]> = check.iter().map(|x| x.as_slice()).collect();
        let group: Range<usize> = 4..7;
        let f = fit(
            &r,
            &labels,
            (&c, &check_labels),
            std::slice::from_ref(&group),
        );
        (f, check, check_labels)
    }

    #[test]
    fn trees_learn_an_interaction_and_stop_early() {
        let (f, check, labels) = forest(6_000);
        assert!(!f.trees.is_empty() && f.trees.len() <= MAX_TREES);
        let scores: Vec<f64> = check.iter().map(|x| f.raw(x)).collect();
        let auc = super::super::model::roc_auc(&scores, &labels);
        assert!(auc > 0.75, "{auc}");
        // The interaction's corner scores above the rest, all else equal.
        let inside = f.raw(&[0.9, 0.9, 2.0, 0.5, 0.0, 0.0, 0.0]);
        let outside = f.raw(&[0.9, 0.1, 2.0, 0.5, 0.0, 0.0, 0.0]);
        assert!(inside > outside + 1.0, "{inside} vs {outside}");
        // Feature 3 is noise: it explains least of the numeric ones.
        assert!(f.importance[3] < f.importance[0] && f.importance[3] < f.importance[1]);
        assert!((f.importance.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    /// Both forests of a model share one binning of every training client:
    /// a forest learns from its own clients only (the others' labels never
    /// count), and the same binning gives the same forest.
    #[test]
    fn a_forest_on_shared_bins_learns_from_its_own_clients_only() {
        let (rows, labels) = data(4_000, 7);
        let (check, check_labels) = data(800, 8);
        let r: Vec<&[f64]> = rows.iter().map(|x| x.as_slice()).collect();
        let c: Vec<&[f64]> = check.iter().map(|x| x.as_slice()).collect();
        let bins = Bins::new(&r, std::slice::from_ref(&(4..7)));
        let fitting: Vec<u32> = (0..4_000u32).filter(|i| i % 10 != 3).collect();
        let a = fit_binned(&bins, &fitting, &labels, (&c, &check_labels));
        let flipped: Vec<bool> = labels
            .iter()
            .enumerate()
            .map(|(i, y)| if i % 10 == 3 { !y } else { *y })
            .collect();
        let b = fit_binned(&bins, &fitting, &flipped, (&c, &check_labels));
        assert_eq!(a, b);
        assert!(!a.trees.is_empty());
        // Every row binned is every row fitted: the same as `fit`.
        let all: Vec<u32> = (0..4_000u32).collect();
        let whole = fit(
            &r,
            &labels,
            (&c, &check_labels),
            std::slice::from_ref(&(4..7)),
        );
        assert_eq!(fit_binned(&bins, &all, &labels, (&c, &check_labels)), whole);
        assert_ne!(whole, a);
    }

    #[test]
    fn scoring_many_at_once_equals_one_by_one() {
        let (f, check, _) = forest(3_000);
        let rows: Vec<&[f64]> = check.iter().map(|x| x.as_slice()).collect();
        let batch = f.raw_batch(&rows);
        assert_eq!(batch.len(), rows.len());
        for (x, b) in rows.iter().zip(&batch) {
            assert!((f.raw(x) - b).abs() < 1e-12);
        }
    }

    #[test]
    fn an_average_of_forests_scores_and_explains_as_their_mean() {
        let (a, check, check_labels) = forest(3_000);
        let (rows, labels) = data(3_000, 11);
        let r: Vec<&[f64]> = rows.iter().map(|x| x.as_slice()).collect();
        let c: Vec<&[f64]> = check.iter().map(|x| x.as_slice()).collect();
        let b = fit(
            &r,
            &labels,
            (&c, &check_labels),
            std::slice::from_ref(&(4..7)),
        );
        let mean = Forest::average(vec![a.clone(), b.clone()]);
        assert_eq!(mean.trees.len(), a.trees.len() + b.trees.len());
        let batch = mean.raw_batch(&c);
        for (x, m) in c.iter().zip(&batch) {
            let expected = (a.raw(x) + b.raw(x)) / 2.0;
            assert!((mean.raw(x) - expected).abs() < 1e-9);
            assert!((m - expected).abs() < 1e-9);
            let sum = mean.expected() + mean.contributions(x).iter().sum::<f64>();
            assert!((sum - expected).abs() < 1e-9);
        }
        assert!((mean.importance.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn contributions_add_up_to_the_raw_score() {
        let (f, check, _) = forest(4_000);
        for x in check.iter().take(200) {
            let phi = f.contributions(x);
            let sum = f.expected() + phi.iter().sum::<f64>();
            assert!((sum - f.raw(x)).abs() < 1e-9, "{sum} vs {}", f.raw(x));
        }
    }

    /// TreeSHAP against Shapley values by brute force over every subset,
    /// with "unknown" features averaged over the training clients the way
    /// the tree saw them (by cover).
    #[test]
    fn contributions_are_the_exact_shapley_values() {
        let (f, check, _) = forest(3_000);
        let width = 7;
        fn known(tree: &Tree, x: &[f64], set: u32, i: usize) -> f64 {
            let n = &tree.nodes[i];
            if n.left == 0 {
                return n.value;
            }
            if set & (1 << n.feature) != 0 {
                let next = if x[n.feature as usize] <= n.threshold {
                    n.left
                } else {
                    n.right
                };
                known(tree, x, set, next as usize)
            } else {
                let (l, r) = (&tree.nodes[n.left as usize], &tree.nodes[n.right as usize]);
                (l.cover * known(tree, x, set, n.left as usize)
                    + r.cover * known(tree, x, set, n.right as usize))
                    / n.cover
            }
        }
        let value = |x: &[f64], set: u32| f.trees.iter().map(|t| known(t, x, set, 0)).sum::<f64>();
        let factorial = |k: usize| (1..=k).product::<usize>() as f64;
        for x in check.iter().take(5) {
            let phi = f.contributions(x);
            for (i, got) in phi.iter().enumerate() {
                let mut exact = 0.0;
                for set in 0u32..(1 << width) {
                    if set & (1 << i) != 0 {
                        continue;
                    }
                    let s = set.count_ones() as usize;
                    let weight = factorial(s) * factorial(width - s - 1) / factorial(width);
                    exact += weight * (value(x, set | (1 << i)) - value(x, set));
                }
                assert!((got - exact).abs() < 1e-9, "feature {i}: {got} vs {exact}");
            }
        }
    }

    #[test]
    fn a_one_hot_group_is_split_member_by_member() {
        let (f, _, _) = forest(4_000);
        // Member 1 of the group (feature 5) raises buying; the trees must use it.
        assert!(f.importance[5] > 0.0);
        let with = f.raw(&[0.5, 0.5, 2.0, 0.5, 0.0, 1.0, 0.0]);
        let without = f.raw(&[0.5, 0.5, 2.0, 0.5, 0.0, 0.0, 0.0]);
        assert!(with > without);
    }
}
