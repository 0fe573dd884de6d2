//! Task families: a scene plus a question and its exact answer; captions of scenes.

use super::rng::{sample_rng, Split};
use super::scene::{self, Scene, BAR_LABELS, COLOURS, DOC_KEYS, SHAPES};
use super::tokenizer::Tokenizer;
use crate::spec::Family;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One question about one scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The scene.
    pub scene: Scene,
    /// The family the question belongs to (None for caption-only samples).
    pub family: Option<Family>,
    /// Question words.
    pub question: String,
    /// Question token ids (no BOS/SEP).
    pub question_ids: Vec<u32>,
    /// Answer token ids (no EOS).
    pub answer_ids: Vec<u32>,
    /// Caption token ids of the scene (no EOS).
    pub caption_ids: Vec<u32>,
}

fn colour(i: usize) -> &'static str {
    COLOURS[i].0
}

/// The caption of a scene, as vocabulary words and spelled strings.
pub fn caption(t: &Tokenizer, scene: &Scene) -> Vec<u32> {
    match scene {
        Scene::Shapes { objects } => {
            let mut order: Vec<&scene::Object> = objects.iter().collect();
            order.sort_by(|a, b| a.x.total_cmp(&b.x));
            let mut ids = Vec::new();
            for (i, o) in order.iter().enumerate() {
                if i > 0 {
                    ids.push(t.word("and"));
                }
                let size = if o.large { "large" } else { "small" };
                ids.extend(t.words(&format!("a {size} {} {}", colour(o.colour), SHAPES[o.shape])));
            }
            ids
        }
        Scene::Text { word, .. } => {
            let mut ids = t.words("the word");
            ids.extend(t.spell(word));
            ids
        }
        Scene::Chart { values } => {
            let mut ids = t.words("a bar chart with");
            ids.extend(t.spell(&values.len().to_string()));
            ids.push(t.word("bars"));
            ids
        }
        Scene::Document { fields } => {
            let mut ids = t.words("a form with");
            ids.extend(t.spell(&fields.len().to_string()));
            ids.push(t.word("fields"));
            ids
        }
    }
}

/// Whether the `index`-th POPE question of `split` asks about a present object: on the test split,
/// even indices ask yes and odd ones no (any even number of test questions is exactly balanced);
/// elsewhere the coin `coin` decides.
pub fn pope_yes(split: Split, index: u64, coin: bool) -> bool {
    match split {
        Split::Test => index.is_multiple_of(2),
        Split::Train | Split::Validation => coin,
    }
}

fn shapes_question(
    rng: &mut ChaCha8Rng,
    t: &Tokenizer,
    family: Family,
    max_objects: usize,
    (split, index): (Split, u64),
) -> (Scene, String, Vec<u32>) {
    let n = rng.random_range(1..=max_objects);
    let scene = scene::shapes_scene(rng, n);
    let Scene::Shapes { objects } = &scene else { unreachable!() };
    match family {
        Family::Vqa => {
            // Ask only unambiguous questions: about an object whose shape (or colour) no other object shares.
            let unique_shape = |o: &scene::Object| objects.iter().filter(|p| p.shape == o.shape).count() == 1;
            let unique_colour = |o: &scene::Object| objects.iter().filter(|p| p.colour == o.colour).count() == 1;
            let candidates: Vec<&scene::Object> =
                objects.iter().filter(|o| unique_shape(o) || unique_colour(o)).collect();
            // With no candidate every object looks the same, so any question about objects[0] is unambiguous.
            let o = if candidates.is_empty() { &objects[0] } else { candidates[rng.random_range(0..candidates.len())] };
            let ask_colour = match (unique_shape(o), unique_colour(o)) {
                (true, true) => rng.random_bool(0.5),
                (true, false) => true,
                (false, true) => false,
                (false, false) => rng.random_bool(0.5),
            };
            if ask_colour {
                (scene.clone(), format!("what colour is the {} ?", SHAPES[o.shape]), t.words(colour(o.colour)))
            } else {
                (scene.clone(), format!("what shape is the {} object ?", colour(o.colour)), t.words(SHAPES[o.shape]))
            }
        }
        Family::Count => {
            if rng.random_bool(0.5) {
                let q = "how many objects are there ?".to_string();
                (scene.clone(), q, t.spell(&objects.len().to_string()))
            } else {
                let c = rng.random_range(0..COLOURS.len());
                let k = objects.iter().filter(|o| o.colour == c).count();
                (scene.clone(), format!("how many {} objects are there ?", colour(c)), t.spell(&k.to_string()))
            }
        }
        _ => {
            // POPE: balanced existence probes; negatives random, popular (shape present) or adversarial
            // (colour and shape both present, never together). The coin is drawn on every split, so the
            // scenes stay those of the same index whichever way the answer goes.
            let present = |s: usize, c: usize| objects.iter().any(|o| o.shape == s && o.colour == c);
            let coin = rng.random_bool(0.5);
            let (s, c, yes) = if pope_yes(split, index, coin) {
                let o = &objects[rng.random_range(0..objects.len())];
                (o.shape, o.colour, true)
            } else {
                let mut pick = None;
                let kind = rng.random_range(0..3);
                for _ in 0..50 {
                    let (s, c) = match kind {
                        0 => (rng.random_range(0..SHAPES.len()), rng.random_range(0..COLOURS.len())),
                        1 => (objects[rng.random_range(0..objects.len())].shape, rng.random_range(0..COLOURS.len())),
                        _ => (
                            objects[rng.random_range(0..objects.len())].shape,
                            objects[rng.random_range(0..objects.len())].colour,
                        ),
                    };
                    if !present(s, c) {
                        pick = Some((s, c));
                        break;
                    }
                }
                let (s, c) = pick.unwrap_or_else(|| {
                    (0..SHAPES.len())
                        .flat_map(|s| (0..COLOURS.len()).map(move |c| (s, c)))
                        .find(|&(s, c)| !present(s, c))
                        .unwrap()
                });
                (s, c, false)
            };
            (
                scene.clone(),
                format!("is there a {} {} ?", colour(c), SHAPES[s]),
                t.words(if yes { "yes" } else { "no" }),
            )
        }
    }
}

/// The `index`-th sample of `family` in a split (a pure function of its arguments).
pub fn sample(t: &Tokenizer, seed: u64, split: Split, family: Family, index: u64, max_objects: usize) -> Sample {
    let stream = Family::ALL.iter().position(|f| *f == family).unwrap() as u64 + 1;
    let mut rng = sample_rng(seed, split, stream, index);
    let (scene, question, answer_ids) = match family {
        Family::Vqa | Family::Count | Family::Pope => shapes_question(&mut rng, t, family, max_objects, (split, index)),
        Family::Ocr => {
            let s = scene::text_scene(&mut rng);
            let Scene::Text { word, .. } = &s else { unreachable!() };
            let a = t.spell(word);
            (s, "what word is written ?".to_string(), a)
        }
        Family::Chart => {
            let s = scene::chart_scene(&mut rng);
            let Scene::Chart { values } = &s else { unreachable!() };
            let i = rng.random_range(0..values.len());
            let q = format!("what is the value of bar {} ?", BAR_LABELS[i]);
            let a = t.spell(&values[i].to_string());
            (s, q, a)
        }
        Family::Doc => {
            let s = scene::document_scene(&mut rng);
            let Scene::Document { fields } = &s else { unreachable!() };
            let (k, v) = fields[rng.random_range(0..fields.len())];
            (s, format!("what is the {} ?", DOC_KEYS[k]), t.spell(&v.to_string()))
        }
    };
    let question_ids = question
        .split_whitespace()
        .flat_map(|w| if w.len() == 1 && w != "?" && w != "a" { t.spell(w) } else { vec![t.word(w)] })
        .collect();
    let caption_ids = caption(t, &scene);
    Sample { scene, family: Some(family), question, question_ids, answer_ids, caption_ids }
}

/// The `index`-th sample of a mixture over `families`, each taking an equal share (a family listed
/// twice takes two shares).
pub fn mixture_sample(
    t: &Tokenizer,
    seed: u64,
    split: Split,
    families: &[Family],
    index: u64,
    max_objects: usize,
) -> Sample {
    let f = families[(index % families.len() as u64) as usize];
    // The family's stream is read at the mixture index itself, so a family listed twice still
    // yields distinct samples.
    sample(t, seed, split, f, index, max_objects)
}
