//! The error-card template language of the original pipe (its FEATURES §9.1), so
//! operators' existing templates keep working:
//!
//! - `{name}` is replaced by the variable's value; a name with no variable stays as written.
//! - `{{#if name}}` … `{{/if}}` keeps its content only when `name` is non-empty; blocks nest
//!   and the tokens may sit inline or on their own lines.
//! - A line whose placeholder has an empty value is dropped, so optional details vanish
//!   with their labels; a line holding only block tokens produces nothing.
//! - The result is trimmed.
//!
//! Rendering never fails: malformed tokens are kept as text.

use std::collections::HashMap;

pub type Vars<'a> = HashMap<&'a str, String>;

enum Token<'t> {
    Text(&'t str),
    Placeholder(&'t str),
    If(&'t str),
    EndIf,
}

pub fn render(template: &str, vars: &Vars<'_>) -> String {
    let truthy = |name: &str| vars.get(name).is_some_and(|v| !v.is_empty());
    let mut active: Vec<bool> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for line in template.lines() {
        let tokens = tokenize(line);
        let mut rendered = String::new();
        let mut only_block_tokens = !tokens.is_empty();
        let mut drop_line = false;
        for token in &tokens {
            let showing = active.iter().all(|a| *a);
            match token {
                Token::If(name) => active.push(showing && truthy(name)),
                Token::EndIf => {
                    active.pop();
                }
                Token::Text(text) => {
                    if !text.trim().is_empty() {
                        only_block_tokens = false;
                    }
                    if showing {
                        rendered.push_str(text);
                    }
                }
                Token::Placeholder(name) => {
                    only_block_tokens = false;
                    if !showing {
                        continue;
                    }
                    match vars.get(name) {
                        Some(value) if value.is_empty() => drop_line = true,
                        Some(value) => rendered.push_str(value),
                        None => {
                            rendered.push('{');
                            rendered.push_str(name);
                            rendered.push('}');
                        }
                    }
                }
            }
        }
        if only_block_tokens || drop_line {
            continue;
        }
        if tokens.is_empty() {
            // A blank line survives only where every enclosing block is active.
            if active.iter().all(|a| *a) {
                out.push(String::new());
            }
        } else if !rendered.trim().is_empty() {
            out.push(rendered);
        }
    }
    out.join("\n").trim().to_owned()
}

/// Why a template an operator supplied is not used: its `{{#if}}` / `{{/if}}` blocks do
/// not pair up. Rendering would still succeed, but would silently drop or keep text the
/// operator did not mean to, so callers fall back to their default instead.
pub fn check(template: &str) -> Result<(), String> {
    let mut depth: usize = 0;
    for (number, line) in template.lines().enumerate() {
        for token in tokenize(line) {
            match token {
                Token::If(_) => depth += 1,
                Token::EndIf => {
                    depth = depth.checked_sub(1).ok_or_else(|| {
                        format!("line {}: {{{{/if}}}} without {{{{#if}}}}", number + 1)
                    })?;
                }
                Token::Text(_) | Token::Placeholder(_) => {}
            }
        }
    }
    match depth {
        0 => Ok(()),
        open => Err(format!("{open} {{{{#if}}}} block(s) never closed")),
    }
}

fn tokenize(line: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = line;
    let mut text_start = 0;
    let mut offset = 0;
    while let Some(pos) = rest.find('{') {
        let at = offset + pos;
        let tail = &line[at..];
        let parsed = parse_block(tail).or_else(|| parse_placeholder(tail));
        match parsed {
            Some((token, len)) => {
                if text_start < at {
                    tokens.push(Token::Text(&line[text_start..at]));
                }
                tokens.push(token);
                offset = at + len;
                text_start = offset;
            }
            None => offset = at + 1,
        }
        rest = &line[offset..];
    }
    if text_start < line.len() {
        tokens.push(Token::Text(&line[text_start..]));
    }
    tokens
}

fn parse_block(tail: &str) -> Option<(Token<'_>, usize)> {
    let body = tail.strip_prefix("{{")?;
    let end = body.find("}}")?;
    let inner = body[..end].trim();
    let token = if inner == "/if" {
        Token::EndIf
    } else {
        let name = inner.strip_prefix("#if")?.trim();
        if !is_name(name) {
            return None;
        }
        Token::If(name)
    };
    Some((token, 2 + end + 2))
}

fn parse_placeholder(tail: &str) -> Option<(Token<'_>, usize)> {
    let body = tail.strip_prefix('{')?;
    let end = body.find('}')?;
    let name = &body[..end];
    is_name(name).then_some((Token::Placeholder(name), 1 + end + 1))
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> Vars<'static> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let out = render(
            "Hello {name}, see {unknown} and {not a name} {",
            &vars(&[("name", "Ada")]),
        );
        assert_eq!(out, "Hello Ada, see {unknown} and {not a name} {");
    }

    #[test]
    fn lines_with_empty_values_are_dropped_with_their_labels() {
        let template = "### Title\n**Code:** {code}\n**Message:** {message}\n";
        assert_eq!(
            render(template, &vars(&[("code", ""), ("message", "boom")])),
            "### Title\n**Message:** boom"
        );
    }

    #[test]
    fn conditional_blocks_nest_and_may_be_inline() {
        let template = "A\n{{#if retry}}\nRetry in {retry} s.\n{{#if scope}}Scope: {scope}{{/if}}\n{{/if}}\nB {{#if tip}}({tip}){{/if}}";
        assert_eq!(
            render(template, &vars(&[("retry", "17"), ("scope", "")])),
            "A\nRetry in 17 s.\nB"
        );
        assert_eq!(
            render(
                template,
                &vars(&[("retry", ""), ("scope", "x"), ("tip", "try later")])
            ),
            "A\nB (try later)"
        );
    }

    #[test]
    fn blank_lines_survive_only_in_active_blocks_and_output_is_trimmed() {
        let template = "\n\nTop\n\n{{#if x}}\n\nX\n{{/if}}\n\n";
        assert_eq!(render(template, &vars(&[("x", "1")])), "Top\n\n\nX");
        assert_eq!(render(template, &vars(&[])), "Top");
    }

    #[test]
    fn unbalanced_or_malformed_blocks_never_panic() {
        for template in [
            "{{/if}}{{/if}} text",
            "{{#if}} x",
            "{{#if a",
            "{{#if a}} never closed",
            "}}{{",
            "{é}",
        ] {
            let _ = render(template, &vars(&[("a", "1")]));
        }
        assert_eq!(render("{{#if}} x", &vars(&[])), "{{#if}} x");
    }

    #[test]
    fn check_accepts_paired_blocks_and_names_the_broken_ones() {
        assert_eq!(check("A {{#if a}}{{#if b}}x{{/if}}{{/if}}\n{x} {"), Ok(()));
        assert_eq!(check("plain text"), Ok(()));
        let unclosed = check("{{#if a}}\nnever closed").expect_err("unclosed");
        assert!(unclosed.contains("never closed"), "{unclosed}");
        let stray = check("ok\n{{/if}}").expect_err("stray");
        assert!(stray.starts_with("line 2"), "{stray}");
    }
}
