//! Indentation as a few slices of one static run of spaces: a line's
//! indentation in one copy instead of one write per level or per space
//! (issue 18: both the API's pretty JSON and the YAML writer indent every
//! line).

/// The spaces slices are cut from.
const SPACES: &str = "                                                                                                                                ";

/// Appends `n` spaces to `out`, in as few copies as possible (one below
/// 128).
pub(crate) fn push(out: &mut String, n: usize) {
    let mut left = n;
    while left > 0 {
        let chunk = left.min(SPACES.len());
        out.push_str(&SPACES[..chunk]);
        left -= chunk;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spaces_add_up_to_any_width() {
        for n in [0, 1, 127, 128, 129, 300] {
            let mut got = String::from("x");
            super::push(&mut got, n);
            assert_eq!(got, format!("x{}", " ".repeat(n)), "{n}");
        }
    }
}
