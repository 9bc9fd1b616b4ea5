//! A scanner for sanitized HTML.
//!
//! The input is always ammonia's output, which html5ever serialized: every
//! `<` in text is `&lt;`, every attribute value is in double quotes, every
//! element but the void ones has its end tag, there are no comments and no
//! raw-text elements, and the only entities are `&amp;`, `&nbsp;`, `&lt;`,
//! `&gt;` and `&quot;`. That is what lets a scanner this small read it.

use std::borrow::Cow;

pub(super) enum Token<'a> {
    Open {
        name: &'a str,
        attributes: Vec<(&'a str, &'a str)>,
    },
    Close(&'a str),
    Text(&'a str),
}

/// The tokens of `html`, each with the text it was read from.
pub(super) fn tokens(html: &str) -> Tokens<'_> {
    Tokens { rest: html }
}

pub(super) struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (Token<'a>, &'a str);

    fn next(&mut self) -> Option<(Token<'a>, &'a str)> {
        let before = self.rest;
        let token = self.token()?;
        Some((token, &before[..before.len() - self.rest.len()]))
    }
}

impl<'a> Tokens<'a> {
    fn token(&mut self) -> Option<Token<'a>> {
        match self.rest.find('<') {
            _ if self.rest.is_empty() => None,
            Some(0) => self.tag(),
            Some(at) => {
                let (text, rest) = self.rest.split_at(at);
                self.rest = rest;
                Some(Token::Text(text))
            }
            None => Some(Token::Text(std::mem::take(&mut self.rest))),
        }
    }

    /// The tag `rest` starts with. Anything html5ever would not have
    /// written ends the scan.
    fn tag(&mut self) -> Option<Token<'a>> {
        let s = &self.rest[1..];
        if let Some(s) = s.strip_prefix('/') {
            let end = s.find('>')?;
            self.rest = &s[end + 1..];
            return Some(Token::Close(&s[..end]));
        }
        let end = s.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')?;
        let name = &s[..end];
        let mut s = &s[end..];
        let mut attributes = Vec::new();
        loop {
            s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
            if let Some(rest) = s.strip_prefix('>') {
                self.rest = rest;
                return Some(Token::Open { name, attributes });
            }
            let end = s.find(|c: char| c == '=' || c.is_ascii_whitespace() || c == '>')?;
            if end == 0 {
                return None;
            }
            let (key, after) = s.split_at(end);
            s = match after.strip_prefix("=\"") {
                Some(value) => {
                    let close = value.find('"')?;
                    attributes.push((key, &value[..close]));
                    &value[close + 1..]
                }
                None => {
                    attributes.push((key, ""));
                    after
                }
            };
        }
    }
}

/// The text html5ever's serializer escaped.
pub(super) fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = [
            ("&amp;", '&'),
            ("&nbsp;", '\u{a0}'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
        ]
        .into_iter()
        .find(|(name, _)| rest.starts_with(name));
        match entity {
            Some((name, c)) => {
                out.push(c);
                rest = &rest[name.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Elements html5ever writes without an end tag.
pub(super) fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "col"
            | "embed"
            | "frame"
            | "hr"
            | "img"
            | "input"
            | "keygen"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}
