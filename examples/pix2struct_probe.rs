//! Why the proxy `pix2struct` expert reads no whole word (issue 20; `docs/experts-tuning.md`, third
//! pass): trains it from scratch on one-word scenes in two ways and prints validation accuracy (the
//! classifier on 512 one-word validation images).
//!
//! - `read STEPS LR [all]`: the expert's own pretraining model (12 learned queries reading the
//!   characters through cross-attention), on one-word scenes (or the pretraining mixture with `all`);
//!   prints character and whole-word accuracy on 256 one-word validation images.
//! - `classify STEPS LR`: the same encoder, its map max-pooled, a linear 16-way classifier of the
//!   word: whether the encoder can tell the words apart at all when nothing has to locate letters.
//!
//! `cargo run --release --example pix2struct_probe -- classify 600 1e-3 [ink] [burn-pos]`: the
//! expert as the plan builds it (row and column tables from N(0, 0.02²)), `burn-pos` with burn's
//! N(0, 1) tables (the expert before issue 20's fix), `ink` with words drawn in ink (training and
//! validation). The doc's rows: "as committed" = `burn-pos`, "small position embeddings" = no
//! option, "ink" = `ink burn-pos`, "both" = `ink`.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use eyrie::data::render::TextColour;
use eyrie::data::scene::{Scene, OCR_WORDS};
use eyrie::data::{DataSpec, Pool, Split};
use eyrie::model::encoders::{Expert, ExpertConfig};
use eyrie::spec::{ExpertKind, Family, Scale};
use eyrie::train::batches::{batch_indices, images};
use eyrie::train::fit::fit;
use eyrie::train::pretrain::reading;
use eyrie::train::{seeded_init, FitSettings, Silent};

type B = Autodiff<Flex>;

/// Samples per step (the proxy's expert pretraining batch).
const BATCH: usize = 48;
/// Initialisation and data-order seed.
const SEED: u64 = 7;

/// The encoder, its map max-pooled over positions, then a linear word classifier.
#[derive(Module, Debug)]
struct WordClassifier<B: Backend> {
    expert: Expert<B>,
    head: Linear<B>,
}

impl<B: Backend> WordClassifier<B> {
    /// # Shapes
    /// - `x`: `[b, 3, r, r]` → `[b, 16]`
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let map = self.expert.forward(x);
        let [b, c, h, w] = map.dims();
        self.head.forward(map.reshape([b, c, h * w]).max_dim(2).reshape([b, c]))
    }
}

/// The index in [`OCR_WORDS`] of each one-word scene of `idx`.
fn word_labels(pool: &Pool, idx: &[usize]) -> Vec<i64> {
    idx.iter()
        .map(|&i| match &pool.samples[i].scene {
            Scene::Text { word, .. } => OCR_WORDS.iter().position(|w| w == word).expect("a listed word") as i64,
            _ => panic!("sample {i} is not a one-word scene"),
        })
        .collect()
}

/// Percent of the first `n` images of `pool` whose word `m` names.
fn classify_accuracy(
    m: &WordClassifier<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend>,
    pool: &Pool,
    side: usize,
    n: usize,
) -> f64 {
    let idx: Vec<usize> = (0..n.min(pool.len())).collect();
    let mut right = 0;
    for chunk in idx.chunks(64) {
        let pred = m.forward(images(pool, chunk, side, &Default::default())).argmax(1).into_data();
        let pred = pred.convert::<i64>().to_vec::<i64>().expect("int predictions");
        right += pred.iter().zip(word_labels(pool, chunk)).filter(|(p, t)| **p == *t).count();
    }
    100.0 * right as f64 / idx.len().max(1) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: pix2struct_probe (read|classify) STEPS LR [all] [ink] [burn-pos]";
    let (mode, steps, lr) = match (args.get(1), args.get(2), args.get(3)) {
        (Some(m), Some(s), Some(l)) => (m.as_str(), s.parse().expect(usage), l.parse().expect(usage)),
        _ => panic!("{usage}"),
    };
    let options: Vec<&str> = args.iter().skip(4).map(String::as_str).collect();
    if let Some(bad) = options.iter().find(|o| !["all", "ink", "burn-pos"].contains(o)) {
        panic!("unknown option {bad}: {usage}");
    }
    let mut cfg = ExpertConfig::at_scale(ExpertKind::Pix2Struct, Scale::Proxy);
    if options.contains(&"burn-pos") {
        // The expert before issue 20's fix: row and column tables drawn from burn's N(0, 1).
        cfg.position_init_std = None;
    }
    let side = cfg.native_resolution;
    let text = if options.contains(&"ink") { TextColour::Ink } else { TextColour::Scene };
    let words = DataSpec { text, ..DataSpec::new(0, vec![Family::Ocr], 4) };
    let train_families = if options.contains(&"all") { Family::ALL.to_vec() } else { vec![Family::Ocr] };
    let pool = Pool::build(&DataSpec { families: train_families, ..words.clone() }, Split::Train, 0, 4096, &[side]);
    // 256 validation images for reading (as `eyrie experts`), 512 for the classifier.
    let val = Pool::build(&words, Split::Validation, 0, if mode == "read" { 256 } else { 512 }, &[side]);
    let device = Default::default();
    let settings = FitSettings::new(steps, lr);
    match mode {
        "read" => {
            let model = seeded_init::<B, _>(&device, SEED, &reading::Head(&cfg));
            let (model, log) = fit(model, &settings, "probe", &Silent, |m: &reading::ReadingModel<B>, step| {
                reading::loss(m, &pool, &batch_indices(pool.len(), BATCH, step, SEED), side, &device)
            })
            .expect("training stays finite");
            let v = model.valid();
            println!(
                "read {steps} steps at {lr}: final loss {:.4}, char {:.1}%, words {:.1}% (validation), words {:.1}% (one-word images among the first 512 training images)",
                log.last().map_or(f64::NAN, |l| l.loss),
                reading::char_accuracy(&v, &val, side, 64, &device),
                reading::word_accuracy(&v, &val, side, 64, &device),
                reading::word_accuracy_among(&v, &pool, 512, side, 64, &device),
            );
        }
        "classify" => {
            assert!(!options.contains(&"all"), "classify trains on one-word scenes only: {usage}");
            B::seed(&device, SEED);
            let model = WordClassifier::<B> {
                expert: cfg.init(&device),
                head: LinearConfig::new(cfg.out_channels(), 16).init(&device),
            };
            let (model, log) = fit(model, &settings, "probe", &Silent, |m: &WordClassifier<B>, step| {
                let idx = batch_indices(pool.len(), BATCH, step, SEED);
                let target = Tensor::from_data(TensorData::new(word_labels(&pool, &idx), [idx.len()]), &device);
                CrossEntropyLossConfig::new()
                    .init(&device)
                    .forward(m.forward(images(&pool, &idx, side, &device)), target)
            })
            .expect("training stays finite");
            let v = model.valid();
            println!(
                "classify {steps} steps at {lr}: final loss {:.4}, words {:.1}% (validation), {:.1}% (first 512 training images; chance 6.25)",
                log.last().map_or(f64::NAN, |l| l.loss),
                classify_accuracy(&v, &val, side, 512),
                classify_accuracy(&v, &pool, side, 512),
            );
        }
        other => panic!("unknown mode {other}: {usage}"),
    }
}
