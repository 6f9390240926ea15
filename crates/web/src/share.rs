//! Share links: the scenario text (raw DEFLATE, then URL-safe base64), the step, the random seed
//! and the compare setting live in the URL fragment, so any static host serves them and a link
//! reproduces the state.

use miniz_oxide::deflate::compress_to_vec;
use miniz_oxide::inflate::decompress_to_vec_with_limit;

/// What a link carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared {
    pub text: String,
    pub step: u32,
    pub seed: Option<u64>,
}

/// Scenarios are small; a link that inflates past this is damaged or hostile.
const MAX_TEXT_BYTES: usize = 4 << 20;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in s.bytes().enumerate() {
        let v = B64
            .iter()
            .position(|&b| b == c)
            .ok_or_else(|| format!("character {} is not URL-safe base64", i + 1))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err("the scenario data is cut short".into());
    }
    Ok(out)
}

/// The URL fragment (without `#`) for a state.
pub fn encode(shared: &Shared) -> String {
    with_position(&encode_text(&shared.text), shared.step, shared.seed)
}

/// The compressed, URL-safe form of a scenario text (the costly part of a link, so callers cache it).
pub fn encode_text(text: &str) -> String {
    b64_encode(&compress_to_vec(text.as_bytes(), 9))
}

/// A fragment from an already encoded text, a step and a seed.
pub fn with_position(encoded_text: &str, step: u32, seed: Option<u64>) -> String {
    let mut s = format!("s={encoded_text}&t={step}");
    if let Some(seed) = seed {
        s.push_str(&format!("&seed={seed}"));
    }
    s
}

/// A fragment with the compare setting (`CompareWith::key`) added when there is one.
pub fn with_compare(fragment: &str, compare: Option<&str>) -> String {
    match compare {
        Some(k) => format!("{fragment}&cmp={k}"),
        None => fragment.to_string(),
    }
}

/// The compare setting a fragment carries (`cmp=kernel`), if any; `state` reads it as a
/// `CompareWith` (an unknown key is ignored, as an old link's would be).
pub fn compare_key(fragment: &str) -> Option<&str> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .find_map(|p| p.strip_prefix("cmp="))
}

/// Reads a fragment. `Ok(None)` means the fragment carries no scenario (an ordinary visit);
/// `Err` says, for a person, what is wrong with a damaged link.
pub fn decode(fragment: &str) -> Result<Option<Shared>, String> {
    let fragment = fragment.trim_start_matches('#');
    let (mut text, mut step, mut seed) = (None, 0u32, None);
    for part in fragment.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k {
            "s" => {
                let bytes = b64_decode(v)?;
                let raw = decompress_to_vec_with_limit(&bytes, MAX_TEXT_BYTES).map_err(|_| {
                    "the scenario data is truncated or damaged (it does not decompress)".to_string()
                })?;
                text = Some(
                    String::from_utf8(raw)
                        .map_err(|_| "the scenario data is not UTF-8 text".to_string())?,
                );
            }
            "t" => {
                step = v
                    .parse()
                    .map_err(|_| format!("the step `{v}` is not a number"))?
            }
            "seed" => {
                seed = Some(
                    v.parse()
                        .map_err(|_| format!("the seed `{v}` is not a number"))?,
                )
            }
            _ => {}
        }
    }
    Ok(text.map(|text| Shared { text, step, seed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = Shared {
            text: "machine linux ram=24GiB\nspawn app\n# ünïcode\n".into(),
            step: 7,
            seed: Some(42),
        };
        assert_eq!(decode(&encode(&s)), Ok(Some(s.clone())));
        assert_eq!(decode(&format!("#{}", encode(&s))), Ok(Some(s)));
    }

    #[test]
    fn the_compare_setting_rides_along() {
        let f = with_compare(&with_position("abc", 3, None), Some("kernel"));
        assert_eq!(f, "s=abc&t=3&cmp=kernel");
        assert_eq!(compare_key(&format!("#{f}")), Some("kernel"));
        assert_eq!(compare_key("s=abc&t=3"), None);
        assert_eq!(with_compare("s=abc&t=3", None), "s=abc&t=3");
    }

    #[test]
    fn base64_all_lengths() {
        for n in 0..10u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(97)).collect();
            assert_eq!(b64_decode(&b64_encode(&data)), Ok(data));
        }
    }

    #[test]
    fn plain_visits_and_damaged_links() {
        assert_eq!(decode(""), Ok(None));
        assert_eq!(decode("#t=3"), Ok(None));
        let good = encode(&Shared {
            text: "spawn app\n".repeat(50),
            step: 1,
            seed: None,
        });
        let cut = &good[..good.find('&').unwrap_or(good.len()) / 2];
        assert!(
            decode(cut).is_err(),
            "a truncated link must be an error, not a blank scenario"
        );
        assert!(decode("s=%%%").is_err());
        assert!(decode("s=AAAA&t=x").is_err());
    }
}
