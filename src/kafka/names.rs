//! Option values as tables of (value, name): one list per option, which the
//! option check, the parser and the value's `name` all read.

/// The names column of such a table, as a constant array.
pub const fn names_of<T: Copy, const N: usize>(table: &[(T, &'static str); N]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = table[i].1;
        i += 1;
    }
    names
}
