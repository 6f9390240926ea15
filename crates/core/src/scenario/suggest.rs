//! "Did you mean …?": the one place that picks the known name closest to a misspelled one, for
//! every name list of the language (statements, verbs, options, fields, sysctls, outcomes, advices,
//! backings, process and mapping names).
//!
//! Closeness is the optimal-string-alignment distance (Damerau–Levenshtein where a transposed pair
//! costs one edit and no substring is edited twice) between the lowercased words, so that a case
//! mistake costs nothing and `mmpa` is one edit from `mmap`. A candidate is offered when it is at
//! most `max(len, 3) / 3` edits away (len counted in characters of the longer word) and the edits
//! do not rewrite the whole word. Ties go to the candidate whose case matches better, then to the
//! alphabetically first, so the hint never depends on the order of a list.

/// Words longer than this get no suggestion: a pasted paragraph is not a typo, and the distance
/// costs `len²`.
const MAX_CHARS: usize = 64;

/// The optimal-string-alignment distance between two character sequences.
fn osa(a: &[char], b: &[char]) -> usize {
    // Three rows of the dynamic-programming table: i-2, i-1 and i.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if one is close enough to be a likely typo. An exact match
/// is not a suggestion (the caller has already looked it up).
pub(crate) fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let w: Vec<char> = word.chars().take(MAX_CHARS + 1).collect();
    if w.is_empty() || w.len() > MAX_CHARS {
        return None;
    }
    let w_lower: Vec<char> = w.iter().map(|c| c.to_ascii_lowercase()).collect();
    // (distance ignoring case, distance with case, candidate): the smallest wins.
    let mut best: Option<(usize, usize, &'a str)> = None;
    for cand in candidates {
        if cand == word {
            continue;
        }
        let c: Vec<char> = cand.chars().take(MAX_CHARS + 1).collect();
        if c.is_empty() || c.len() > MAX_CHARS {
            continue;
        }
        let longer = w.len().max(c.len());
        let limit = longer.max(3) / 3;
        if w.len().abs_diff(c.len()) > limit {
            continue;
        }
        let c_lower: Vec<char> = c.iter().map(|c| c.to_ascii_lowercase()).collect();
        let d = osa(&w_lower, &c_lower);
        // A case-only difference is always offered; otherwise the edits must stay within the
        // limit and leave something of the word in place.
        if d > 0 && (d > limit || d >= w.len().min(c.len())) {
            continue;
        }
        let key = (d, osa(&w, &c), cand);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    best.map(|(_, _, c)| c)
}

/// `"; did you mean `X`?"` for the closest candidate, or an empty string.
pub(crate) fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match closest(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        let d = |a: &str, b: &str| {
            osa(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("", ""), 0);
        assert_eq!(d("mmap", "mmap"), 0);
        assert_eq!(d("mmpa", "mmap"), 1);
        assert_eq!(d("apps", "app"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ca", "abc"), 3);
        assert_eq!(d("", "abc"), 3);
    }

    #[test]
    fn suggestions() {
        let verbs = ["fork", "vfork", "mmap", "munmap", "madvise", "mremap"];
        assert_eq!(closest("mmpa", verbs), Some("mmap"));
        assert_eq!(closest("frok", verbs), Some("fork"));
        assert_eq!(closest("MMAP", verbs), Some("mmap"));
        assert_eq!(closest("jump", verbs), None);
        assert_eq!(closest("", verbs), None);
        // One character is not enough to guess from.
        assert_eq!(closest("x", ["a", "b"]), None);
        assert_eq!(
            closest("committed_as", ["CommitLimit", "Committed_AS"]),
            Some("Committed_AS")
        );
        assert_eq!(
            closest("Comitted_AS", ["CommitLimit", "Committed_AS"]),
            Some("Committed_AS")
        );
        assert_eq!(closest(&"a".repeat(1000), ["a"]), None);
    }

    #[test]
    fn ties_do_not_depend_on_order() {
        // `vork` is one edit from both `fork` and `vfork`: the alphabetically first wins.
        let a = closest("vork", ["vfork", "fork"]);
        let b = closest("vork", ["fork", "vfork"]);
        assert_eq!(a, b);
        assert_eq!(a, Some("fork"));
        // Equal distance ignoring case: the better case match wins.
        assert_eq!(closest("Pss", ["PSS", "pss"]), Some("pss"));
        assert_eq!(closest("pSS", ["Pss", "PSS"]), Some("PSS"));
    }
}
