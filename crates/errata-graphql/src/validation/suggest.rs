//! "Did you mean ...?": graphql-js's `suggestionList` (Damerau-Levenshtein
//! within 40% of the input's length, case changes costing one edit, ties in
//! natural order) and `didYouMean` (at most five, quoted, "or" before the last).

use std::cmp::Ordering;

/// The options close enough to `input`, best first.
pub fn suggestion_list<'a>(
    input: &str,
    options: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let threshold = input.encode_utf16().count() * 4 / 10 + 1;
    let input_lower: Vec<u16> = input.to_lowercase().encode_utf16().collect();
    let mut scored: Vec<(usize, &str)> = options
        .into_iter()
        .filter_map(|option| distance(input, &input_lower, option, threshold).map(|d| (d, option)))
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| natural_compare(a.1, b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().map(|(_, o)| o).collect()
}

fn distance(input: &str, input_lower: &[u16], option: &str, threshold: usize) -> Option<usize> {
    if input == option {
        return Some(0);
    }
    let option_lower: Vec<u16> = option.to_lowercase().encode_utf16().collect();
    if option_lower == input_lower {
        return Some(1);
    }
    let (a, b) = if option_lower.len() < input_lower.len() {
        (input_lower, option_lower.as_slice())
    } else {
        (option_lower.as_slice(), input_lower)
    };
    if a.len() - b.len() > threshold {
        return None;
    }
    let mut rows = [
        vec![0usize; b.len() + 1],
        vec![0usize; b.len() + 1],
        vec![0usize; b.len() + 1],
    ];
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let up = (i - 1) % 3;
        let current = i % 3;
        rows[current][0] = i;
        let mut smallest = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut cell = (rows[up][j] + 1)
                .min(rows[current][j - 1] + 1)
                .min(rows[up][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cell = cell.min(rows[(i - 2) % 3][j - 2] + 1);
            }
            smallest = smallest.min(cell);
            rows[current][j] = cell;
        }
        if smallest > threshold {
            return None;
        }
    }
    let d = rows[a.len() % 3][b.len()];
    (d <= threshold).then_some(d)
}

/// graphql-js's `naturalCompare`: digit runs compare as numbers.
pub fn natural_compare(a: &str, b: &str) -> Ordering {
    let a16: Vec<u16> = a.encode_utf16().collect();
    let b16: Vec<u16> = b.encode_utf16().collect();
    let digit = |c: u16| (48..=57).contains(&c);
    let (mut i, mut j) = (0, 0);
    while i < a16.len() && j < b16.len() {
        let (ca, cb) = (a16[i], b16[j]);
        if digit(ca) && digit(cb) {
            let mut na: u64 = 0;
            loop {
                na = na * 10 + u64::from(a16[i] - 48);
                i += 1;
                if !(i < a16.len() && digit(a16[i]) && na > 0) {
                    break;
                }
            }
            let mut nb: u64 = 0;
            loop {
                nb = nb * 10 + u64::from(b16[j] - 48);
                j += 1;
                if !(j < b16.len() && digit(b16[j]) && nb > 0) {
                    break;
                }
            }
            match na.cmp(&nb) {
                Ordering::Equal => {}
                other => return other,
            }
        } else {
            match ca.cmp(&cb) {
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                other => return other,
            }
        }
    }
    a16.len().cmp(&b16.len())
}

/// `" Did you mean "a", "b", or "c"?"`, or nothing.
pub fn did_you_mean(sub_message: Option<&str>, suggestions: &[&str]) -> String {
    let mut message = String::from(" Did you mean ");
    if let Some(sub) = sub_message {
        message.push_str(sub);
        message.push(' ');
    }
    let quoted: Vec<String> = suggestions
        .iter()
        .take(5)
        .map(|s| format!("\"{s}\""))
        .collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => format!("{message}{one}?"),
        [a, b] => format!("{message}{a} or {b}?"),
        [rest @ .., last] => format!("{message}{}, or {last}?", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_options_are_suggested_best_first() {
        assert_eq!(
            suggestion_list("nmae", ["name", "names", "id"]),
            vec!["name", "names"]
        );
        assert_eq!(suggestion_list("ID", ["id", "Id"]), vec!["Id", "id"]);
        assert!(suggestion_list("zzz", ["name"]).is_empty());
    }

    #[test]
    fn did_you_mean_lists_at_most_five() {
        assert_eq!(did_you_mean(None, &[]), "");
        assert_eq!(did_you_mean(None, &["a"]), " Did you mean \"a\"?");
        assert_eq!(
            did_you_mean(None, &["a", "b"]),
            " Did you mean \"a\" or \"b\"?"
        );
        assert_eq!(
            did_you_mean(
                Some("to use an inline fragment on"),
                &["a", "b", "c", "d", "e", "f"]
            ),
            " Did you mean to use an inline fragment on \"a\", \"b\", \"c\", \"d\", or \"e\"?"
        );
    }

    #[test]
    fn natural_order_compares_numbers() {
        assert_eq!(natural_compare("a2", "a10"), Ordering::Less);
        assert_eq!(natural_compare("b", "a"), Ordering::Greater);
        assert_eq!(natural_compare("a", "ab"), Ordering::Less);
    }
}
