//! VQA-style answer normalisation (the rules of the VQA evaluation: punctuation, periods, number
//! words, articles, common contractions) and normalised exact-match scoring per family.

use crate::eval::metrics::{score, FamilyScore};
use crate::spec::Family;

/// Punctuation the VQA evaluation removes (or turns into a space).
const PUNCT: [char; 21] =
    [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];

/// Number words the VQA evaluation writes as digits.
const NUMBERS: [(&str, &str); 12] = [
    ("none", "0"),
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
];

/// Contractions written without their apostrophe, restored (the most common of the VQA table).
const CONTRACTIONS: [(&str, &str); 24] = [
    ("aint", "ain't"),
    ("arent", "aren't"),
    ("cant", "can't"),
    ("couldnt", "couldn't"),
    ("didnt", "didn't"),
    ("doesnt", "doesn't"),
    ("dont", "don't"),
    ("hadnt", "hadn't"),
    ("hasnt", "hasn't"),
    ("havent", "haven't"),
    ("hes", "he's"),
    ("im", "i'm"),
    ("isnt", "isn't"),
    ("itll", "it'll"),
    ("ive", "i've"),
    ("shes", "she's"),
    ("shouldnt", "shouldn't"),
    ("thats", "that's"),
    ("theres", "there's"),
    ("theyre", "they're"),
    ("wasnt", "wasn't"),
    ("werent", "weren't"),
    ("wont", "won't"),
    ("youre", "you're"),
];

/// Whether `text` has a comma between two digits (`1,000`): then punctuation is removed, not spaced.
fn has_digit_comma(text: &[char]) -> bool {
    text.windows(3).any(|w| w[0].is_ascii_digit() && w[1] == ',' && w[2].is_ascii_digit())
}

/// Normalises an answer as the VQA evaluation does before comparing: whitespace collapsed,
/// punctuation removed (or spaced where it stood alone), periods not before a digit removed,
/// lower case, number words as digits, articles dropped, contractions given their apostrophe.
pub fn normalise(answer: &str) -> String {
    let text: Vec<char> = answer.replace(['\n', '\t'], " ").trim().chars().collect();
    let s: String = text.iter().collect();
    let remove_all = has_digit_comma(&text);
    let mut out = s.clone();
    for p in PUNCT {
        let alone = s.contains(&format!("{p} ")) || s.contains(&format!(" {p}"));
        out = out.replace(p, if alone || remove_all { "" } else { " " });
    }
    let chars: Vec<char> = out.chars().collect();
    let out: String = chars
        .iter()
        .enumerate()
        .filter(|(i, c)| **c != '.' || chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()))
        .map(|(_, c)| *c)
        .collect();
    out.to_lowercase()
        .split_whitespace()
        .map(|w| NUMBERS.iter().find(|(k, _)| *k == w).map_or(w, |(_, v)| v))
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .map(|w| CONTRACTIONS.iter().find(|(k, _)| *k == w).map_or(w, |(_, v)| v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Scores predictions against reference answers (any of which counts) after normalisation; POPE
/// keeps its F1 over yes/no, every other family is exact-match accuracy.
pub fn score_answers(family: Family, predictions: &[String], references: &[Vec<String>]) -> FamilyScore {
    assert_eq!(predictions.len(), references.len());
    let predictions: Vec<String> = predictions.iter().map(|p| normalise(p)).collect();
    let chosen: Vec<String> = predictions
        .iter()
        .zip(references)
        .map(|(p, refs)| {
            let refs: Vec<String> = refs.iter().map(|r| normalise(r)).collect();
            refs.iter().find(|r| *r == p).or(refs.first()).cloned().unwrap_or_default()
        })
        .collect();
    score(family, &predictions, &chosen)
}
