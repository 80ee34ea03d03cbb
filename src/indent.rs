//! Indentation as a few slices of one static run of spaces: a line's
//! indentation in one copy instead of one write per level or per space
//! (issue 18: both the API's pretty JSON and the YAML writer indent every
//! line).

/// The spaces slices are cut from.
const SPACES: &str = "                                                                                                                                ";

/// `n` spaces, in as few slices as possible (one below 128).
pub(crate) fn spaces(n: usize) -> impl Iterator<Item = &'static str> {
    let mut left = n;
    std::iter::from_fn(move || {
        let chunk = left.min(SPACES.len());
        left -= chunk;
        (chunk > 0).then(|| &SPACES[..chunk])
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn spaces_add_up_to_any_width() {
        for n in [0, 1, 127, 128, 129, 300] {
            let got: String = super::spaces(n).collect();
            assert_eq!(got, " ".repeat(n), "{n}");
        }
    }
}
