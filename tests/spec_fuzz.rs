//! Hostile experiment files: random and mutated specs (from the committed `experiments/*.toml`:
//! lines deleted, duplicated, swapped, truncated, values replaced by random numbers, strings, huge
//! numbers, empty arrays, random bytes inserted) must each give a plan or a `SpecError`, never a
//! panic, and quickly. And the command line refuses bad files with exit code 2, naming the key.

use eyrie::plan::plan;
use eyrie::search::rounds::round_spec;
use eyrie::spec::{parse, Scale, Spec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Inputs the property test feeds the parser and planner (the README quotes this number).
const CASES: u32 = 1000;
/// The most one input may take to parse and plan (they take milliseconds; a hang or a
/// superlinear blow-up takes far longer).
const PER_INPUT: Duration = Duration::from_secs(5);

/// The committed experiment files, and a few smaller starting points.
fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    let mut out: Vec<String> = files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    assert!(out.len() >= 5, "the experiments folder has the committed files");
    out.push(String::new());
    out.push("[experiment]\nname = \"x\"\nscale = \"smoke\"\n".into());
    out
}

/// Keys and headers a mutation may insert, so that mutants reach every check.
const KEYS: &[&str] = &[
    "name",
    "description",
    "scale",
    "seeds",
    "blind-baseline",
    "pretrain-seed",
    "search",
    "encoders",
    "fusion",
    "resolution",
    "tiling",
    "unlock",
    "families",
    "grid",
    "sft-steps",
    "lr",
    "vision-lr-scale",
    "query-expert",
    "pre-align",
    "start",
    "candidates",
    "metric",
    "max-rounds",
    "min-gain",
    "claim",
    "contrast",
    "a",
    "b",
    "level",
    "axis",
    "by",
    "where",
    "expect",
    "margin",
];
const HEADERS: &[&str] = &["[experiment]", "[base]", "[grid]", "[[exclude]]", "[greedy]", "[[hypothesis]]"];
/// Words the files use, so that replaced values are often valid names in the wrong place.
const WORDS: &[&str] = &[
    "native",
    "auto",
    "clip",
    "convnext",
    "sam",
    "pix2struct",
    "eva02",
    "channel-concat",
    "sequence-append",
    "mini-gemini",
    "deformable",
    "llava-hr",
    "tile",
    "interpolate",
    "vqa",
    "count",
    "ocr",
    "chart",
    "doc",
    "pope",
    "smoke",
    "proxy",
    "gpu",
    "greedy",
    "grid",
    "average",
    "pair",
    "best",
    "trend",
    "interaction",
    "better",
    "equivalent",
    "not-worse",
    "increasing",
    "shared",
    "per-seed",
    "artifacts",
];

/// A TOML value, valid or not.
fn value() -> impl Strategy<Value = String> {
    let word = prop::sample::select(WORDS).prop_map(|w| format!("\"{w}\""));
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-3i64..300).prop_map(|n| n.to_string()),
        prop::sample::select(vec!["0", "-1", "1e12", "1000000000000", "9223372036854775807", "nan", "inf", "-0.0"])
            .prop_map(String::from),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        "[a-z0-9 ._/-]{0,16}".prop_map(|s| format!("\"{s}\"")),
        (1usize..400).prop_map(|n| format!("\"{}\"", "a".repeat(n))),
        word.clone(),
        prop::collection::vec(word.clone(), 0..4).prop_map(|w| format!("[{}]", w.join(", "))),
        prop::collection::vec(prop::collection::vec(word, 0..3), 0..3).prop_map(|ws| {
            let inner: Vec<String> = ws.iter().map(|w| format!("[{}]", w.join(", "))).collect();
            format!("[{}]", inner.join(", "))
        }),
        prop::collection::vec(-2i64..2000, 0..6)
            .prop_map(|v| format!("[{}]", v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "))),
        prop::sample::select(vec!["[]", "[[]]", "{}", "true", "false", "{ clip = true }", "{ unlock = true }"])
            .prop_map(String::from),
    ]
}

/// One change to a file (line indices are taken modulo its number of lines).
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    SwapKeys(usize, usize),
    Replace(usize, String),
    Insert(usize, String),
    Truncate(usize),
    Bytes(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let line = prop_oneof![
        (prop::sample::select(KEYS), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        prop::sample::select(HEADERS).prop_map(String::from),
    ];
    prop_oneof![
        1 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Duplicate),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapKeys(a, b)),
        3 => (any::<usize>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => (any::<usize>(), line).prop_map(|(i, l)| Mutation::Insert(i, l)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Bytes(i, b)),
    ]
}

/// `text` with `m` applied.
fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    let key_value = |l: &str| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()));
    match m {
        Mutation::Delete(i) if !lines.is_empty() => {
            lines.remove(i % n);
        }
        Mutation::Duplicate(i) if !lines.is_empty() => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
        Mutation::SwapKeys(a, b) if !lines.is_empty() => {
            if let (Some((ka, va)), Some((kb, vb))) = (key_value(&lines[a % n]), key_value(&lines[b % n])) {
                lines[a % n] = format!("{kb}={va}");
                lines[b % n] = format!("{ka}={vb}");
            }
        }
        Mutation::Replace(i, v) if !lines.is_empty() => {
            if let Some((k, _)) = key_value(&lines[i % n]) {
                lines[i % n] = format!("{k}= {v}");
            }
        }
        Mutation::Insert(i, l) => lines.insert(i % (lines.len() + 1), l.clone()),
        Mutation::Truncate(at) => {
            let text = lines.join("\n");
            let mut cut = at % (text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
        Mutation::Bytes(at, bytes) => {
            let mut raw = lines.join("\n").into_bytes();
            let at = at % (raw.len() + 1);
            raw.splice(at..at, bytes.iter().copied());
            return String::from_utf8_lossy(&raw).into_owned();
        }
        _ => {}
    }
    lines.join("\n") + "\n"
}

/// Parses `text` and, if it is accepted, plans it at its own scale and at the smoke scale (a greedy
/// search: every set it could reach).
fn parse_and_plan(text: &str) -> Result<usize, Box<eyrie::spec::SpecError>> {
    let spec: Spec = parse(Path::new("fuzz.toml"), text).map_err(Box::new)?;
    let planned = match &spec.greedy {
        None => spec.clone(),
        Some(g) => round_spec(&spec, &g.reachable_sets()),
    };
    let mut cells = 0;
    for scale in [spec.scale, Scale::Smoke] {
        cells += plan(&planned, scale).cells.len();
    }
    Ok(cells)
}

fn config() -> Config {
    Config { cases: CASES, failure_persistence: None, rng_seed: RngSeed::Fixed(2408_15998), ..Config::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_specs_give_a_plan_or_a_spec_error(
        base in 0usize..64,
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let corpus = corpus();
        let mut text = corpus[base % corpus.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let start = Instant::now();
        let outcome = parse_and_plan(&text);
        if std::env::var_os("EYRIE_FUZZ_STATS").is_some() {
            // What the mutants reach: `EYRIE_FUZZ_STATS=1 cargo test --release --test spec_fuzz -- --nocapture`.
            eprintln!("fuzz outcome: {}", outcome.as_ref().map_or_else(|e| e.key.clone(), |_| "<plan>".into()));
        }
        match outcome {
            Ok(cells) => prop_assert!(cells > 0),
            Err(e) => {
                prop_assert!(!e.message.is_empty(), "an error says what is wrong: {e}");
                let shown = e.to_string();
                prop_assert!(shown.starts_with("fuzz.toml"), "{shown}");
            }
        }
        prop_assert!(start.elapsed() < PER_INPUT, "{:?} for:\n{text}", start.elapsed());
    }
}

#[test]
fn every_committed_experiment_plans() {
    for text in corpus().iter().filter(|t| t.contains("name")) {
        parse_and_plan(text).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `eyrie plan` on `text`: (exit code, stderr).
fn plan_file(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let results = dir.path().join("results");
    let out = Command::new(env!("CARGO_BIN_EXE_eyrie"))
        .args(["plan", file.to_str().unwrap(), "--results", results.to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_cli_refuses_bad_files_with_exit_2_naming_the_key() {
    let head = "[experiment]\nscale = \"smoke\"\n";
    let cases = [
        (format!("{head}name = \"{}\"\n", "n".repeat(300)), "experiment.name", "more than 64"),
        (format!("{head}name = \"artifacts\"\n"), "experiment.name", "reserved"),
        (format!("{head}name = \"x\"\nseeds = [0, 1, 0]\n"), "experiment.seeds[2]", "listed twice"),
        (format!("{head}name = \"x\"\n[base]\nsft-steps = 1000000000000\n"), "base.sft-steps", "10000000"),
        (format!("{head}name = \"x\"\n[grid]\nunlock = [true, true]\n"), "grid.unlock[1]", "same value"),
        (
            format!("{head}name = \"x\"\n[grid]\nunlock = [true, false]\n[[exclude]]\nfusion = \"llava-hr\"\n"),
            "exclude[0]",
            "matches no cell",
        ),
        (format!("{head}name = \"x\"\nname = \"y\"\n"), "experiment.name", "duplicate key `name`"),
        (
            format!(
                "{head}name = \"x\"\nsearch = \"greedy\"\n[base]\nresolution = 72\n[greedy]\nstart = [\"clip\"]\n\
                 candidates = [\"sam\"]\n"
            ),
            "base.resolution",
            "[clip+sam]",
        ),
    ];
    for (text, key, words) in cases {
        let (code, err) = plan_file(&text);
        assert_eq!(code, Some(2), "{key}: {err}");
        assert!(err.contains(&format!("key `{key}`")), "expected key `{key}` in: {err}");
        assert!(err.contains(words), "expected `{words}` in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, err) = plan_file(&format!("{head}name = \"x\"\n"));
    assert_eq!(code, Some(0), "{err}");
}
