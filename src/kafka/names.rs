//! Option values as tables of (value, name): one list per option, whose
//! names the option check reads and whose values `build` takes by the index
//! the check found, so the two cannot disagree.

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

/// The values column of such a table, as a constant array in the order of
/// `names_of`'s.
pub const fn values_of<T: Copy, const N: usize>(table: &[(T, &'static str); N]) -> [T; N] {
    let mut values = [table[0].0; N];
    let mut i = 0;
    while i < N {
        values[i] = table[i].0;
        i += 1;
    }
    values
}
