//! Conversion speed over the whole corpus (release build): per-document
//! median and p99, and the total for one pass.
fn main() {}
