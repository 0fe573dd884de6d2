//! The proxy world written as LLaVA-format data: scenes as PNG, captions as alignment
//! conversations, questions as SFT conversations, and a JSONL evaluation set from the test split.
//! A small export is the committed dataset of the end-to-end test; a larger one lets a researcher
//! check a real-model pipeline on data whose answers are known.

use crate::data::{DataSpec, Pool, Split, Tokenizer};
use crate::spec::Family;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// The prompt of an alignment record (LLaVA-1.5's pretraining data asks for a brief description).
pub const CAPTION_PROMPT: &str = "Describe the image briefly.";

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// Training records (each in `align.json` and `train.json`).
    pub train: usize,
    /// Evaluation questions.
    pub eval: usize,
}

fn save_png(rgb: &[u8], side: usize, path: &Path) -> std::io::Result<()> {
    let img = image::RgbImage::from_raw(side as u32, side as u32, rgb.to_vec()).expect("side² RGB pixels");
    img.save(path).map_err(std::io::Error::other)
}

/// Writes `train` training samples (the uniform mixture of `families`) and `eval_per_family` test
/// questions of each family, rendered at `side` pixels from the world of `seed`, under `out`:
/// `images/`, `align.json`, `train.json` and `eval.jsonl`.
pub fn export(
    out: &Path,
    families: &[Family],
    train: usize,
    eval_per_family: usize,
    side: usize,
    seed: u64,
) -> std::io::Result<Exported> {
    let t = Tokenizer::new();
    let images = out.join("images");
    std::fs::create_dir_all(&images)?;
    let spec = DataSpec::new(seed, families.to_vec(), 3);
    let pool = Pool::build(&spec, Split::Train, 0, train, &[side]);
    let px = side * side * 3;
    let (mut align, mut sft) = (Vec::new(), Vec::new());
    for (i, s) in pool.samples.iter().enumerate() {
        let name = format!("train-{i:05}.png");
        save_png(&pool.images[&side][i * px..(i + 1) * px], side, &images.join(&name))?;
        let family = s.family.map_or("caption".to_string(), |f| f.to_string());
        align.push(json!({
            "id": format!("align-{i:05}"),
            "image": name,
            "conversations": [
                {"from": "human", "value": format!("<image>\n{CAPTION_PROMPT}")},
                {"from": "gpt", "value": t.decode(&s.caption_ids)},
            ],
        }));
        sft.push(json!({
            "id": format!("train-{i:05}-{family}"),
            "image": name,
            "conversations": [
                {"from": "human", "value": format!("<image>\n{}", t.decode(&s.question_ids))},
                {"from": "gpt", "value": t.decode(&s.answer_ids)},
            ],
        }));
    }
    std::fs::write(out.join("align.json"), serde_json::to_string_pretty(&align)? + "\n")?;
    std::fs::write(out.join("train.json"), serde_json::to_string_pretty(&sft)? + "\n")?;
    let mut eval = std::fs::File::create(out.join("eval.jsonl"))?;
    let mut n = 0;
    for &f in families {
        let spec = DataSpec::new(seed, vec![f], 3);
        let pool = Pool::build(&spec, Split::Test, 0, eval_per_family, &[side]);
        for (i, s) in pool.samples.iter().enumerate() {
            let name = format!("eval-{f}-{i:05}.png");
            save_png(&pool.images[&side][i * px..(i + 1) * px], side, &images.join(&name))?;
            let line = json!({
                "image": name,
                "question": t.decode(&s.question_ids),
                "answer": t.decode(&s.answer_ids),
                "family": f.to_string(),
            });
            writeln!(eval, "{line}")?;
            n += 1;
        }
    }
    Ok(Exported { train: pool.samples.len(), eval: n })
}
