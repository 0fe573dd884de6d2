//! The chat format on the committed tiny Llama's tokenizer and template (`tests/fixtures/llava/lm`).

use super::chat::{ChatFormat, VICUNA_V1_TEMPLATE};
use super::conversations::{Conversation, Role, Turn};
use std::path::{Path, PathBuf};

fn fixture_lm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llava/lm")
}

fn conversation(turns: &[&str], image: bool) -> Conversation {
    Conversation {
        id: "t".into(),
        image: image.then(|| "x.png".into()),
        conversations: turns
            .iter()
            .enumerate()
            .map(|(i, v)| Turn { from: if i % 2 == 0 { Role::Human } else { Role::Gpt }, value: v.to_string() })
            .collect(),
    }
}

/// The text of the answer-marked tokens, one string per run of consecutive marked tokens.
fn answer_runs(chat: &ChatFormat, after: &[u32], answer: &[bool]) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for (&id, &a) in after.iter().zip(answer) {
        if a {
            current.push(id);
        } else if !current.is_empty() {
            runs.push(chat.decode(&std::mem::take(&mut current)).unwrap());
        }
    }
    if !current.is_empty() {
        runs.push(chat.decode(&current).unwrap());
    }
    runs
}

#[test]
fn only_each_answer_and_its_end_token_carry_the_loss() {
    let chat = ChatFormat::open(&fixture_lm()).unwrap();
    let conv =
        conversation(&["<image>\nwhat colour is the circle ?", "blue", "how many objects are there ?", "3"], true);
    let t = chat.conversation(&conv).unwrap();
    assert!(t.image);
    assert_eq!(t.after.len(), t.answer.len());
    assert_eq!(answer_runs(&chat, &t.after, &t.answer), vec![" blue", " 3"]);
    // Each run ends on the end-of-sequence token, so the model learns to stop.
    let ends: Vec<usize> = (1..t.answer.len()).filter(|&i| t.answer[i - 1] && !t.answer[i]).collect();
    assert!(ends.iter().all(|&i| t.after[i - 1] == chat.eos_id), "{:?}", t.after);
    assert_eq!(t.after.last(), Some(&chat.eos_id));
    // The image splits the text where <image> was: the prompt before it ends with the user's tag.
    let before = chat.decode(&t.before).unwrap();
    assert!(before.ends_with("USER: "), "{before:?}");
    assert!(!t.before.is_empty());
}

#[test]
fn a_text_only_record_has_no_image_place_and_still_trains_its_answer() {
    let chat = ChatFormat::open(&fixture_lm()).unwrap();
    let t = chat.conversation(&conversation(&["say yes", "yes"], false)).unwrap();
    assert!(!t.image && t.before.is_empty());
    assert_eq!(answer_runs(&chat, &t.after, &t.answer), vec![" yes"]);
}

#[test]
fn an_evaluation_prompt_ends_with_the_generation_prompt_and_marks_nothing() {
    let chat = ChatFormat::open(&fixture_lm()).unwrap();
    let p = chat.prompt("how many objects are there ?").unwrap();
    assert!(p.answer.iter().all(|a| !a));
    let after = chat.decode(&p.after).unwrap();
    assert!(after.ends_with("ASSISTANT:") && after.contains("how many objects"), "{after:?}");
}

/// A copy of the fixture LM's tokenizer files with `template` as its chat template (None: no template).
fn with_template(dir: &Path, template: Option<&str>) -> PathBuf {
    std::fs::copy(fixture_lm().join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_lm().join("tokenizer_config.json")).unwrap()).unwrap();
    match template {
        Some(t) => cfg["chat_template"] = serde_json::Value::String(t.into()),
        None => {
            cfg.as_object_mut().unwrap().remove("chat_template");
        }
    }
    std::fs::write(dir.join("tokenizer_config.json"), cfg.to_string()).unwrap();
    dir.to_path_buf()
}

#[test]
fn a_folder_without_a_template_gets_llava_vicuna_v1() {
    let tmp = tempfile::tempdir().unwrap();
    let chat = ChatFormat::open(&with_template(tmp.path(), None)).unwrap();
    let t = chat.conversation(&conversation(&["<image>\nq ?", "red"], true)).unwrap();
    let text = chat.decode(&t.after).unwrap();
    assert!(text.ends_with("ASSISTANT: red"), "{text:?}");
    assert!(chat.decode(&t.before).unwrap().starts_with("A chat between a curious human"));
    assert!(VICUNA_V1_TEMPLATE.contains("USER: "));
}

#[test]
fn a_template_whose_turns_do_not_render_as_prefixes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // The number of messages is written first: a shorter conversation is not a prefix of a longer one.
    let template = "{{ messages|length }}{% for m in messages %}{{ m['content'] }}{% endfor %}";
    let chat = ChatFormat::open(&with_template(tmp.path(), Some(template))).unwrap();
    let err = chat.conversation(&conversation(&["<image>\nq", "a"], true)).unwrap_err().to_string();
    assert!(err.contains("prefix-stable"), "{err}");
}

#[test]
fn templates_may_call_python_string_methods_and_raise_exception() {
    let tmp = tempfile::tempdir().unwrap();
    let template =
        "{% for m in messages %}{% if m['role'] not in ['user', 'assistant'] %}{{ raise_exception('bad role') }}\
                    {% endif %}{{ m['role'].upper() }}: {{ m['content'].strip() }}\n{% endfor %}\
                    {% if add_generation_prompt %}ASSISTANT:{% endif %}";
    let chat = ChatFormat::open(&with_template(tmp.path(), Some(template))).unwrap();
    let t = chat.conversation(&conversation(&["<image>\n  q  ", "no"], true)).unwrap();
    assert!(chat.decode(&t.before).unwrap().starts_with("USER:"));
}

#[test]
fn the_image_goes_first_in_its_turn_as_in_evaluation() {
    let chat = ChatFormat::open(&fixture_lm()).unwrap();
    let trained = chat.conversation(&conversation(&["how many objects are there ?\n<image>", "3"], true)).unwrap();
    let asked = chat.prompt("how many objects are there ?").unwrap();
    assert_eq!(trained.before, asked.before);
    assert_eq!(trained.after[..asked.after.len()], asked.after[..]);
}
