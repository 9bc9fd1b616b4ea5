//! The GraphQL lexer, with graphql-js 16's tokens and error messages.
//!
//! Columns count UTF-16 code units, as graphql-js's do, so that locations
//! agree with it for every document, non-ASCII ones included.

use std::borrow::Cow;

use super::{Pos, SyntaxError};

/// The kind of a token; `desc` is how graphql-js names it in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Start of file.
    Sof,
    /// End of file.
    Eof,
    /// `!`
    Bang,
    /// `$`
    Dollar,
    /// `&`
    Amp,
    /// `(`
    ParenL,
    /// `)`
    ParenR,
    /// `...`
    Spread,
    /// `:`
    Colon,
    /// `=`
    Equals,
    /// `@`
    At,
    /// `[`
    BracketL,
    /// `]`
    BracketR,
    /// `{`
    BraceL,
    /// `|`
    Pipe,
    /// `}`
    BraceR,
    /// A name.
    Name,
    /// An integer.
    Int,
    /// A float.
    Float,
    /// A quoted string.
    String,
    /// A block string.
    BlockString,
}

impl TokenKind {
    /// graphql-js's description: punctuators quoted, others by kind.
    pub fn desc(self) -> &'static str {
        match self {
            TokenKind::Sof => "<SOF>",
            TokenKind::Eof => "<EOF>",
            TokenKind::Bang => "\"!\"",
            TokenKind::Dollar => "\"$\"",
            TokenKind::Amp => "\"&\"",
            TokenKind::ParenL => "\"(\"",
            TokenKind::ParenR => "\")\"",
            TokenKind::Spread => "\"...\"",
            TokenKind::Colon => "\":\"",
            TokenKind::Equals => "\"=\"",
            TokenKind::At => "\"@\"",
            TokenKind::BracketL => "\"[\"",
            TokenKind::BracketR => "\"]\"",
            TokenKind::BraceL => "\"{\"",
            TokenKind::Pipe => "\"|\"",
            TokenKind::BraceR => "\"}\"",
            TokenKind::Name => "Name",
            TokenKind::Int => "Int",
            TokenKind::Float => "Float",
            TokenKind::String => "String",
            TokenKind::BlockString => "BlockString",
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub struct Token<'a> {
    /// Its kind.
    pub kind: TokenKind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Where it starts.
    pub pos: Pos,
    /// Names, numbers and (decoded) strings.
    pub value: Option<Cow<'a, str>>,
}

impl Token<'_> {
    /// graphql-js's description of the token: `Name "foo"`, `"{"`, `<EOF>`.
    pub fn desc(&self) -> String {
        match &self.value {
            Some(v) => format!("{} \"{}\"", self.kind.desc(), v),
            None => self.kind.desc().to_owned(),
        }
    }
}

/// Reads tokens one at a time, skipping whitespace, commas and comments.
/// Cloning it gives a lookahead that leaves the original where it was.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    source: &'a str,
    position: usize,
    line: u32,
    line_start: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `source`.
    pub fn new(source: &'a str) -> Lexer<'a> {
        Lexer {
            source,
            position: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The source.
    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The position of a byte offset on the current line.
    fn pos_at(&self, offset: usize) -> Pos {
        let column = self.source[self.line_start..offset].encode_utf16().count() as u32 + 1;
        Pos {
            line: self.line,
            column,
        }
    }

    fn error(&self, offset: usize, message: String) -> SyntaxError {
        SyntaxError {
            message,
            pos: locate(self.source, offset),
        }
    }

    fn byte(&self, offset: usize) -> Option<u8> {
        self.source.as_bytes().get(offset).copied()
    }

    /// graphql-js's `printCodePointAt`: printable ASCII quoted, others as U+XXXX.
    fn print_char_at(&self, offset: usize) -> String {
        match self.source[offset..].chars().next() {
            None => "<EOF>".to_owned(),
            Some('"') => "'\"'".to_owned(),
            Some(c) if (' '..='~').contains(&c) => format!("\"{c}\""),
            Some(c) => format!("U+{:04X}", c as u32),
        }
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token<'a>, SyntaxError> {
        let bytes = self.source.as_bytes();
        while self.position < bytes.len() {
            let start = self.position;
            let punct = |kind, len| (kind, len);
            let single = match bytes[start] {
                b'\t' | b' ' | b',' => {
                    self.position += 1;
                    continue;
                }
                0xEF if bytes[start..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                    self.position += 3;
                    continue;
                }
                b'\n' => {
                    self.position += 1;
                    self.line += 1;
                    self.line_start = self.position;
                    continue;
                }
                b'\r' => {
                    self.position += if self.byte(start + 1) == Some(b'\n') {
                        2
                    } else {
                        1
                    };
                    self.line += 1;
                    self.line_start = self.position;
                    continue;
                }
                b'#' => {
                    // Line terminators are ASCII, which no byte of another
                    // UTF-8 character can be: bytes are enough, and a comment
                    // of a megabyte is skipped without decoding it.
                    let rest = &self.source.as_bytes()[start..];
                    let end = rest
                        .iter()
                        .position(|&b| b == b'\n' || b == b'\r')
                        .map_or(self.source.len(), |i| start + i);
                    self.position = end;
                    continue;
                }
                b'!' => Some(punct(TokenKind::Bang, 1)),
                b'$' => Some(punct(TokenKind::Dollar, 1)),
                b'&' => Some(punct(TokenKind::Amp, 1)),
                b'(' => Some(punct(TokenKind::ParenL, 1)),
                b')' => Some(punct(TokenKind::ParenR, 1)),
                b'.' if bytes[start..].starts_with(b"...") => Some(punct(TokenKind::Spread, 3)),
                b':' => Some(punct(TokenKind::Colon, 1)),
                b'=' => Some(punct(TokenKind::Equals, 1)),
                b'@' => Some(punct(TokenKind::At, 1)),
                b'[' => Some(punct(TokenKind::BracketL, 1)),
                b']' => Some(punct(TokenKind::BracketR, 1)),
                b'{' => Some(punct(TokenKind::BraceL, 1)),
                b'|' => Some(punct(TokenKind::Pipe, 1)),
                b'}' => Some(punct(TokenKind::BraceR, 1)),
                _ => None,
            };
            if let Some((kind, len)) = single {
                self.position += len;
                return Ok(Token {
                    kind,
                    start,
                    pos: self.pos_at(start),
                    value: None,
                });
            }
            return match bytes[start] {
                b'"' if bytes[start..].starts_with(b"\"\"\"") => self.block_string(start),
                b'"' => self.string(start),
                b'-' | b'0'..=b'9' => self.number(start),
                b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                    let end = bytes[start + 1..]
                        .iter()
                        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                        .map_or(bytes.len(), |i| start + 1 + i);
                    self.position = end;
                    Ok(Token {
                        kind: TokenKind::Name,
                        start,
                        pos: self.pos_at(start),
                        value: Some(Cow::Borrowed(&self.source[start..end])),
                    })
                }
                b'\'' => Err(self.error(
                    start,
                    "Unexpected single quote character ('), did you mean to use a double quote (\")?".to_owned(),
                )),
                _ => Err(self.error(start, format!("Unexpected character: {}.", self.print_char_at(start)))),
            };
        }
        let end = self.source.len();
        Ok(Token {
            kind: TokenKind::Eof,
            start: end,
            pos: self.pos_at(end),
            value: None,
        })
    }

    fn number(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let mut position = start;
        let mut is_float = false;
        if self.byte(position) == Some(b'-') {
            position += 1;
        }
        if self.byte(position) == Some(b'0') {
            position += 1;
            if self.byte(position).is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error(
                    position,
                    format!(
                        "Invalid number, unexpected digit after 0: {}.",
                        self.print_char_at(position)
                    ),
                ));
            }
        } else {
            position = self.digits(position)?;
        }
        if self.byte(position) == Some(b'.') {
            is_float = true;
            position = self.digits(position + 1)?;
        }
        if matches!(self.byte(position), Some(b'e' | b'E')) {
            is_float = true;
            position += 1;
            if matches!(self.byte(position), Some(b'+' | b'-')) {
                position += 1;
            }
            position = self.digits(position)?;
        }
        if matches!(
            self.byte(position),
            Some(b'.' | b'_' | b'a'..=b'z' | b'A'..=b'Z')
        ) {
            return Err(self.error(
                position,
                format!(
                    "Invalid number, expected digit but got: {}.",
                    self.print_char_at(position)
                ),
            ));
        }
        self.position = position;
        Ok(Token {
            kind: if is_float {
                TokenKind::Float
            } else {
                TokenKind::Int
            },
            start,
            pos: self.pos_at(start),
            value: Some(Cow::Borrowed(&self.source[start..position])),
        })
    }

    fn digits(&self, start: usize) -> Result<usize, SyntaxError> {
        if !self.byte(start).is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.error(
                start,
                format!(
                    "Invalid number, expected digit but got: {}.",
                    self.print_char_at(start)
                ),
            ));
        }
        let mut position = start + 1;
        while self.byte(position).is_some_and(|b| b.is_ascii_digit()) {
            position += 1;
        }
        Ok(position)
    }

    fn string(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let mut position = start + 1;
        let mut chunk_start = position;
        let mut value = String::new();
        while let Some(c) = self.source[position..].chars().next() {
            match c {
                '"' => {
                    value.push_str(&self.source[chunk_start..position]);
                    self.position = position + 1;
                    return Ok(Token {
                        kind: TokenKind::String,
                        start,
                        pos: self.pos_at(start),
                        value: Some(Cow::Owned(value)),
                    });
                }
                '\\' => {
                    value.push_str(&self.source[chunk_start..position]);
                    let (decoded, size) = self.escape(position)?;
                    value.push_str(&decoded);
                    position += size;
                    chunk_start = position;
                }
                '\n' | '\r' => break,
                c => position += c.len_utf8(),
            }
        }
        Err(self.error(position, "Unterminated string.".to_owned()))
    }

    /// Decodes the escape sequence at `position` (its backslash).
    fn escape(&self, position: usize) -> Result<(String, usize), SyntaxError> {
        let rest = &self.source[position..];
        let bytes = rest.as_bytes();
        let simple = match bytes.get(1) {
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'/') => Some('/'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            Some(b't') => Some('\t'),
            _ => None,
        };
        if let Some(c) = simple {
            return Ok((c.to_string(), 2));
        }
        if bytes.get(1) != Some(&b'u') {
            let end = rest.char_indices().nth(2).map_or(rest.len(), |(i, _)| i);
            return Err(self.error(
                position,
                format!("Invalid character escape sequence: \"{}\".", &rest[..end]),
            ));
        }
        if bytes.get(2) == Some(&b'{') {
            // \u{X...}: up to 12 characters in all.
            let mut point: u32 = 0;
            let mut size = 3;
            while size < 12 {
                let b = bytes.get(size).copied();
                size += 1;
                if b == Some(b'}') {
                    if size < 5 {
                        break;
                    }
                    if let Some(c) = char::from_u32(point) {
                        return Ok((c.to_string(), size));
                    }
                    break;
                }
                match b.and_then(|b| (b as char).to_digit(16)) {
                    Some(d) if point <= 0x0FFF_FFFF => point = (point << 4) | d,
                    _ => break,
                }
            }
            let end = char_boundary(rest, size);
            return Err(self.error(
                position,
                format!("Invalid Unicode escape sequence: \"{}\".", &rest[..end]),
            ));
        }
        let fixed = |at: usize| -> Option<u32> {
            let hex = rest.get(at..at + 4)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(hex, 16).ok()
        };
        if let Some(code) = fixed(2) {
            if let Some(c) = char::from_u32(code) {
                return Ok((c.to_string(), 6));
            }
            if (0xD800..=0xDBFF).contains(&code)
                && rest.get(6..8) == Some("\\u")
                && let Some(trail) = fixed(8)
                && (0xDC00..=0xDFFF).contains(&trail)
            {
                let combined = 0x10000 + ((code - 0xD800) << 10) + (trail - 0xDC00);
                if let Some(c) = char::from_u32(combined) {
                    return Ok((c.to_string(), 12));
                }
            }
        }
        let end = char_boundary(rest, 6);
        Err(self.error(
            position,
            format!("Invalid Unicode escape sequence: \"{}\".", &rest[..end]),
        ))
    }

    fn block_string(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let bytes = self.source.as_bytes();
        let mut line_start = self.line_start;
        let mut position = start + 3;
        let mut chunk_start = position;
        let mut current = String::new();
        let mut lines: Vec<String> = Vec::new();
        let pos = self.pos_at(start);
        while position < bytes.len() {
            if bytes[position..].starts_with(b"\"\"\"") {
                current.push_str(&self.source[chunk_start..position]);
                lines.push(current);
                let value = dedent_block_string_lines(&lines).join("\n");
                self.line += lines.len() as u32 - 1;
                self.line_start = line_start;
                self.position = position + 3;
                return Ok(Token {
                    kind: TokenKind::BlockString,
                    start,
                    pos,
                    value: Some(Cow::Owned(value)),
                });
            }
            if bytes[position..].starts_with(b"\\\"\"\"") {
                current.push_str(&self.source[chunk_start..position]);
                chunk_start = position + 1;
                position += 4;
                continue;
            }
            if bytes[position] == b'\n' || bytes[position] == b'\r' {
                current.push_str(&self.source[chunk_start..position]);
                lines.push(std::mem::take(&mut current));
                position += if bytes[position] == b'\r' && bytes.get(position + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                chunk_start = position;
                line_start = position;
                continue;
            }
            position += self.source[position..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
        Err(self.error(position, "Unterminated string.".to_owned()))
    }
}

fn char_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// graphql-js's `dedentBlockStringLines`.
pub fn dedent_block_string_lines(lines: &[String]) -> Vec<String> {
    let leading = |line: &str| {
        line.bytes()
            .take_while(|b| *b == b' ' || *b == b'\t')
            .count()
    };
    let mut common = usize::MAX;
    let mut first_non_empty = None;
    let mut last_non_empty = None;
    for (i, line) in lines.iter().enumerate() {
        let indent = leading(line);
        if indent == line.len() {
            continue;
        }
        first_non_empty.get_or_insert(i);
        last_non_empty = Some(i);
        if i != 0 && indent < common {
            common = indent;
        }
    }
    let Some(first) = first_non_empty else {
        return Vec::new();
    };
    let last = last_non_empty.unwrap_or(first);
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.clone()
            } else {
                line.get(common.min(line.len())..).unwrap_or("").to_owned()
            }
        })
        .skip(first)
        .take(last + 1 - first)
        .collect()
}

/// The line and UTF-16 column of a byte offset, as graphql-js's `getLocation`.
pub fn locate(source: &str, offset: usize) -> Pos {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let bytes = before.as_bytes();
    let mut line = 1u32;
    let mut line_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'\r' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let column = before[line_start..].encode_utf16().count() as u32 + 1;
    Pos { line, column }
}
