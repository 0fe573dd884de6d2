use super::*;
use crate::spec::Family;

fn spec() -> DataSpec {
    DataSpec::new(7, Family::ALL.to_vec(), 3)
}

#[test]
fn same_seed_same_bytes() {
    let a = Pool::build(&spec(), Split::Train, 0, 24, &[32, 64]);
    let b = Pool::build(&spec(), Split::Train, 0, 24, &[32, 64]);
    assert_eq!(a.images, b.images);
    assert_eq!(a.samples, b.samples);
    let mut other = spec();
    other.seed = 8;
    let c = Pool::build(&other, Split::Train, 0, 24, &[32]);
    assert_ne!(a.images[&32], c.images[&32]);
}

#[test]
fn splits_are_disjoint() {
    let train = Pool::build(&spec(), Split::Train, 0, 300, &[32]);
    let test = Pool::build(&spec(), Split::Test, 0, 300, &[32]);
    let val = Pool::build(&spec(), Split::Validation, 0, 300, &[32]);
    let px = 32 * 32 * 3;
    let imgs = |p: &Pool| {
        (0..p.len()).map(|i| p.images[&32][i * px..(i + 1) * px].to_vec()).collect::<std::collections::HashSet<_>>()
    };
    let (a, b, c) = (imgs(&train), imgs(&test), imgs(&val));
    // Tiny scenes can coincide by chance only for the same one-object draw; distinct streams must not repeat wholesale.
    assert!(a.intersection(&b).count() < 3, "train and test share images");
    assert!(a.intersection(&c).count() < 3, "train and validation share images");
}

#[test]
fn every_family_has_question_answer_and_caption() {
    let t = Tokenizer::new();
    for f in Family::ALL {
        for i in 0..20 {
            let s = tasks::sample(&t, 1, Split::Train, *f, i, 3);
            assert_eq!(s.family, Some(*f));
            assert!(!s.question_ids.is_empty() && !s.answer_ids.is_empty() && !s.caption_ids.is_empty(), "{f}: {s:?}");
            assert!(s.answer_ids.len() <= 4, "{f}: answer too long");
        }
    }
}

#[test]
fn pope_test_questions_are_exactly_balanced_and_train_ones_roughly() {
    let t = Tokenizer::new();
    let yes = t.word("yes");
    // The evaluation's pool: POPE alone, indices 0..n of the test split.
    let n = 200;
    let pool = Pool::build(&DataSpec::new(3, vec![Family::Pope], 3), Split::Test, 0, n, &[]);
    let yeses = pool.samples.iter().filter(|s| s.answer_ids == vec![yes]).count();
    assert_eq!(yeses, n / 2, "{yeses} of {n} yes");
    // Every answer is right about its scene: yes exactly when an object of that colour and shape is there.
    for s in &pool.samples {
        let words: Vec<&str> = s.question.split_whitespace().collect();
        let (colour, shape) = (words[3], words[4]);
        let scene::Scene::Shapes { objects } = &s.scene else { panic!("{s:?}") };
        let present = objects.iter().any(|o| scene::COLOURS[o.colour].0 == colour && scene::SHAPES[o.shape] == shape);
        assert_eq!(s.answer_ids == vec![yes], present, "{}", s.question);
    }
    // Training questions still draw a coin: balanced in expectation only.
    let train = 400;
    let yeses =
        (0..train).filter(|&i| tasks::sample(&t, 3, Split::Train, Family::Pope, i, 3).answer_ids == vec![yes]).count();
    assert!((160..240).contains(&yeses), "{yeses} of {train} yes");
}

#[test]
fn rendering_depends_on_resolution_and_is_antialiased() {
    let t = Tokenizer::new();
    let s = tasks::sample(&t, 1, Split::Train, Family::Vqa, 0, 3);
    let small = render::render(&s.scene, 32);
    let big = render::render(&s.scene, 96);
    assert_eq!(small.pixels.len(), 32 * 32 * 3);
    assert_eq!(big.pixels.len(), 96 * 96 * 3);
    let distinct: std::collections::HashSet<_> = big.pixels.chunks(3).collect();
    assert!(distinct.len() > 4, "expected blended edge colours, got {}", distinct.len());
}

#[test]
fn text_batch_masks_only_the_answer() {
    let t = Tokenizer::new();
    let s = tasks::sample(&t, 1, Split::Train, Family::Ocr, 0, 3);
    let b = text_batch([&s], TextTask::Answer);
    let counted = b.mask.iter().filter(|&&m| m > 0.0).count();
    assert_eq!(counted, s.answer_ids.len() + 1);
    let c = text_batch([&s], TextTask::Everything);
    let real = c.inputs.iter().filter(|&&id| id != crate::data::tokenizer::PAD as i32).count();
    assert_eq!(c.mask.iter().filter(|&&m| m > 0.0).count(), real, "every real position, no padding");
    assert!(c.len % 8 == 0 && c.len >= real, "padded to a multiple of 8");
}

#[test]
fn vqa_questions_are_unambiguous() {
    use scene::{Scene, COLOURS, SHAPES};
    let t = Tokenizer::new();
    for i in 0..500 {
        let s = tasks::sample(&t, 11, Split::Train, Family::Vqa, i, 3);
        let Scene::Shapes { objects } = &s.scene else { panic!("vqa needs a shapes scene") };
        let words: Vec<&str> = s.question.split_whitespace().collect();
        // Every object the question can refer to must give the same answer.
        let answers: std::collections::HashSet<String> = if words[1] == "colour" {
            objects.iter().filter(|o| SHAPES[o.shape] == words[4]).map(|o| COLOURS[o.colour].0.to_string()).collect()
        } else {
            objects.iter().filter(|o| COLOURS[o.colour].0 == words[4]).map(|o| SHAPES[o.shape].to_string()).collect()
        };
        assert_eq!(answers.len(), 1, "ambiguous: {} in {:?}", s.question, objects);
        assert_eq!(answers.into_iter().next().unwrap(), t.decode(&s.answer_ids));
    }
}

#[test]
fn segmentation_labels_follow_the_scene() {
    use super::targets::{segmentation, SEG_TEXT};
    use scene::{Object, Scene};
    // One large triangle (shape 2) in the middle: its class at the centre, background in the corners.
    let s = Scene::Shapes { objects: vec![Object { shape: 2, colour: 0, large: true, x: 0.5, y: 0.5 }] };
    let img = render::render(&s, 64);
    let labels = segmentation(&s, &img, 16);
    assert_eq!(labels[8 * 16 + 8], 3, "centre cell is the triangle (class 1 + shape)");
    assert_eq!(labels[0], 0);
    assert_eq!(labels[15 * 16 + 15], 0);
    let text = Scene::Text { word: "cat".into(), colour: 2, size: 0.3, x: 0.1, y: 0.3 };
    let img = render::render(&text, 64);
    let labels = segmentation(&text, &img, 16);
    assert!(labels.iter().filter(|&&c| c == SEG_TEXT).count() >= 6, "the word covers several cells");
    assert!(labels.iter().all(|&c| c == 0 || c == SEG_TEXT));
}

#[test]
fn a_word_in_ink_is_drawn_in_ink_and_otherwise_in_its_own_colour() {
    use render::{render_styled, TextColour, BACKGROUND, INK};
    use scene::{Scene, COLOURS};
    let text = Scene::Text { word: "cat".into(), colour: 2, size: 0.3, x: 0.1, y: 0.3 };
    // The pixel farthest from the background: the word's solid colour.
    let darkest = |img: &render::Image| {
        let far = |p: &[u8]| p.iter().zip(BACKGROUND).map(|(&a, b)| (a as i32 - b as i32).abs()).sum::<i32>();
        img.pixels.chunks(3).max_by_key(|p| far(p)).unwrap().to_vec()
    };
    assert_eq!(darkest(&render_styled(&text, 64, TextColour::Ink)), INK.to_vec());
    assert_eq!(darkest(&render_styled(&text, 64, TextColour::Scene)), COLOURS[2].1.to_vec());
    assert_eq!(render_styled(&text, 64, TextColour::Scene), render::render(&text, 64));
    // Only words change: a shapes scene looks the same either way.
    let shapes = tasks::sample(&Tokenizer::new(), 3, Split::Train, Family::Count, 0, 3).scene;
    assert_eq!(render_styled(&shapes, 64, TextColour::Ink), render::render(&shapes, 64));
}

#[test]
fn a_mixed_pool_draws_every_other_word_in_ink() {
    use render::{render_styled, TextColour};
    let spec = |text| DataSpec { text, ..DataSpec::new(4, vec![Family::Ocr], 3) };
    let (mixed, coloured, ink) = (spec(TextColour::Mixed), spec(TextColour::Scene), spec(TextColour::Ink));
    let n = 6;
    let build = |s: &DataSpec| Pool::build(s, Split::Validation, 0, n, &[32]).images[&32].clone();
    let (m, c, k) = (build(&mixed), build(&coloured), build(&ink));
    let image = |all: &[u8], i: usize| all[i * 32 * 32 * 3..(i + 1) * 32 * 32 * 3].to_vec();
    for i in 0..n {
        let expected = if i % 2 == 1 { image(&k, i) } else { image(&c, i) };
        assert_eq!(image(&m, i), expected, "scene {i}");
        assert_ne!(image(&c, i), image(&k, i), "scene {i} looks the same in ink and in colour");
    }
    assert_eq!(
        render_styled(&Pool::build(&mixed, Split::Validation, 0, 1, &[]).samples[0].scene, 32, TextColour::Mixed)
            .pixels,
        image(&c, 0)
    );
}

#[test]
fn reading_and_detection_targets() {
    use super::targets::{box_iou, boxes, reading_target, text_of, READ_CHARS};
    use scene::Scene;
    let doc = Scene::Document { fields: vec![(0, 42), (1, 17)] };
    assert_eq!(text_of(&doc), "id:42 age:17");
    let t = reading_target(&doc);
    assert_eq!(t[0] as usize, 1 + READ_CHARS.find('i').unwrap());
    assert_eq!(t.iter().filter(|&&c| c != 0).count(), 12, "12 characters fit");
    assert!(reading_target(&Scene::Shapes { objects: vec![] }).iter().all(|&c| c == 0), "no text: end at once");
    let s = tasks::sample(&Tokenizer::new(), 3, Split::Train, Family::Count, 0, 3);
    let b = boxes(&s.scene);
    assert!(!b.is_empty());
    assert!((box_iou(&b[0], &b[0]) - 1.0).abs() < 1e-6);
}

#[test]
fn pool_images_of_text_scenes_show_the_text() {
    let spec = DataSpec::new(2024, vec![Family::Ocr], 3);
    let pool = Pool::build(&spec, Split::Train, 0, 16, &[64]);
    let bytes = &pool.images[&64];
    for i in 0..16 {
        let img = &bytes[i * 64 * 64 * 3..(i + 1) * 64 * 64 * 3];
        let ink = img
            .chunks(3)
            .filter(|p| (p[0] as i32 - 240).abs() + (p[1] as i32 - 240).abs() + (p[2] as i32 - 236).abs() > 60)
            .count();
        assert!(ink > 20, "sample {i} ({:?}) has only {ink} text pixels", pool.samples[i].scene);
    }
}

#[test]
fn text_lines_start_at_the_margin_with_small_and_large_letters() {
    let t = Tokenizer::new();
    let sizes: Vec<f32> = (0..400)
        .map(|i| match tasks::sample(&t, 3, Split::Train, Family::Ocr, i, 3).scene {
            scene::Scene::Text { word, size, x, y, .. } => {
                assert_eq!(x, scene::TEXT_MARGIN);
                assert!(
                    x + size * 0.62 * word.len() as f32 <= 1.0 && y >= 0.0 && y + size <= 1.0,
                    "{word} at ({x}, {y}) size {size} leaves the image"
                );
                size
            }
            other => panic!("ocr drew {other:?}"),
        })
        .collect();
    assert!(sizes.iter().all(|s| (0.06..=0.30).contains(s)), "letter heights leave 6–30%");
    // Log-uniform: about a quarter of the words are under 9% of the side (unreadable at a proxy
    // ViT's native 64 px, readable at 192), about a quarter over 20%.
    let small = sizes.iter().filter(|&&s| s < 0.09).count();
    let large = sizes.iter().filter(|&&s| s > 0.20).count();
    assert!((60..140).contains(&small) && (60..140).contains(&large), "small {small}, large {large} of 400");
}

#[test]
fn a_family_listed_twice_takes_two_shares_of_distinct_samples() {
    let spec = DataSpec::new(7, vec![Family::Vqa, Family::Ocr, Family::Ocr], 3);
    let pool = Pool::build(&spec, Split::Train, 0, 90, &[]);
    let ocr: Vec<_> =
        pool.samples.iter().filter(|s| s.family == Some(Family::Ocr)).map(|s| format!("{:?}", s.scene)).collect();
    assert_eq!(ocr.len(), 60);
    let distinct: std::collections::HashSet<_> = ocr.iter().collect();
    assert_eq!(distinct.len(), 60, "repeated samples in the second share");
}
