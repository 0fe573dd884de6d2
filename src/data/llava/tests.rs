use super::*;
use crate::spec::Family;

#[test]
fn answers_normalise_as_the_vqa_evaluation_does() {
    assert_eq!(normalise("  The Two dogs.\n"), "2 dogs");
    assert_eq!(normalise("Yes!"), "yes");
    assert_eq!(normalise("it's a cat , isnt it"), "it's cat isn't it");
    assert_eq!(normalise("3.5"), "3.5");
    assert_eq!(normalise("1,000"), "1000");
    assert_eq!(normalise("black-and-white"), "black and white");
    assert_eq!(normalise("dont know"), "don't know");
    assert_eq!(normalise("an apple"), "apple");
}

#[test]
fn any_reference_counts_and_pope_keeps_f1() {
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let refs = vec![p(&["two", "2 dogs"]), p(&["red"]), p(&["cat"])];
    let s = score_answers(Family::Vqa, &p(&["2 Dogs.", "Red", "dog"]), &refs);
    assert!((s.score - 200.0 / 3.0).abs() < 1e-9, "{}", s.score);
    let pope = score_answers(Family::Pope, &p(&["Yes.", "no", "yes"]), &[p(&["yes"]), p(&["yes"]), p(&["no"])]);
    // tp 1, fn 1, fp 1 → F1 = 2 / 4.
    assert!((pope.score - 50.0).abs() < 1e-9, "{}", pope.score);
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn conversations_are_read_checked_and_cut_with_the_loss_on_answers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("img")).unwrap();
    std::fs::write(dir.path().join("img/a.png"), b"x").unwrap();
    let good = r#"[{"id": 7, "image": "a.png", "conversations": [
        {"from": "human", "value": "<image>\nWhat colour?"}, {"from": "gpt", "value": "Red."},
        {"from": "human", "value": "And the shape?"}, {"from": "gpt", "value": "A circle."}]},
        {"id": "t", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}]"#;
    let records = read_conversations(&write(dir.path(), "ok.json", good), &dir.path().join("img")).unwrap();
    assert_eq!(records[0].id, "7");
    assert_eq!(
        records[0].segments(),
        vec![
            Segment::Image,
            Segment::Prompt("What colour?".into()),
            Segment::Answer("Red.".into()),
            Segment::Prompt("And the shape?".into()),
            Segment::Answer("A circle.".into()),
        ]
    );
    assert_eq!(records[1].segments(), vec![Segment::Prompt("Hi".into()), Segment::Answer("Hello".into())]);

    let cases = [
        (
            r#"[{"id": "x", "image": "a.png", "conversations": [{"from": "human", "value": "no mark"}, {"from": "gpt", "value": "y"}]}]"#,
            "no turn has <image>",
        ),
        (
            r#"[{"id": "x", "conversations": [{"from": "gpt", "value": "y"}, {"from": "human", "value": "q"}]}]"#,
            "turn 0",
        ),
        (r#"[{"id": "x", "conversations": [{"from": "human", "value": "q"}]}]"#, "no answer"),
        (
            r#"[{"id": "x", "image": "b.png", "conversations": [{"from": "human", "value": "<image> q"}, {"from": "gpt", "value": "y"}]}]"#,
            "b.png",
        ),
        (r#"[{"id": "x", "conversations": [{"from": "robot", "value": "q"}]}]"#, "[0].conversations[0].from"),
    ];
    for (text, needle) in cases {
        let err =
            read_conversations(&write(dir.path(), "bad.json", text), &dir.path().join("img")).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("bad.json"), "{err}");
    }
}

#[test]
fn eval_sets_are_read_line_by_line_with_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.png"), b"x").unwrap();
    let good = "{\"image\": \"a.png\", \"question\": \"q?\", \"answer\": \"two\", \"family\": \"count\"}\n\n\
                {\"image\": \"a.png\", \"question\": \"w?\", \"answer\": [\"cat\", \"a cat\"], \"family\": \"vqa\"}\n";
    let items = read_eval_set(&write(dir.path(), "ok.jsonl", good), dir.path()).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].answers(), vec!["cat", "a cat"]);
    assert_eq!(items[0].family, Family::Count);
    let bad = "{\"image\": \"a.png\", \"question\": \"q?\", \"answer\": \"x\", \"family\": \"vqa\"}\n\
               {\"image\": \"a.png\", \"question\": \"q?\", \"answer\": \"x\", \"family\": \"maths\"}\n";
    let err = read_eval_set(&write(dir.path(), "bad.jsonl", bad), dir.path()).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("family") && err.contains("pope"), "{err}");
}
