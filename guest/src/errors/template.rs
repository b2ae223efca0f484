//! The error-card template language of the original pipe (its FEATURES §9.1), so
//! operators' existing templates keep working:
//!
//! - `{name}` is replaced by the variable's value.
//! - `{{#if name}}` … `{{/if}}` keeps its content only when `name` is non-empty; blocks nest
//!   and the tokens may sit inline or on their own lines.
//! - A line whose placeholder has an empty value is dropped, so optional details vanish
//!   with their labels; a line holding only block tokens produces nothing; a blank line
//!   stays only where every enclosing block is kept.
//! - The result is trimmed.
//!
//! One deliberate difference (issue 11): a name no card knows renders empty (its line is
//! dropped) instead of staying as written, and the operator is told once per template
//! ([`placeholder_names`] finds them). Rendering never fails: malformed tokens are kept
//! as text.

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
        let mut rendered = String::new();
        // Whether any text or placeholder of the line is in a block that is kept.
        let mut produced = false;
        let mut drop_line = false;
        for token in tokenize(line) {
            let showing = active.iter().all(|a| *a);
            match token {
                Token::If(name) => active.push(showing && truthy(name)),
                Token::EndIf => {
                    active.pop();
                }
                Token::Text(text) => {
                    if showing && !text.is_empty() {
                        rendered.push_str(text);
                        produced = true;
                    }
                }
                Token::Placeholder(name) => {
                    if showing {
                        produced = true;
                        match vars.get(name).filter(|value| !value.is_empty()) {
                            Some(value) => rendered.push_str(value),
                            None => drop_line = true,
                        }
                    }
                }
            }
        }
        if !produced {
            // A blank line survives only where every enclosing block is kept; a line
            // of block tokens (or of text in blocks left out) produces nothing.
            if line.trim().is_empty() && active.iter().all(|a| *a) {
                out.push(String::new());
            }
        } else if !drop_line {
            out.push(rendered);
        }
    }
    out.join("\n").trim().to_owned()
}

/// Every variable name `template` uses, in placeholders and in `{{#if}}` blocks.
pub fn placeholder_names(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for line in template.lines() {
        for token in tokenize(line) {
            if let Token::Placeholder(name) | Token::If(name) = token
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
    }
    names
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
    fn placeholders_are_filled_and_unknown_names_render_empty() {
        let out = render(
            "Hello {name}, see {not a name} {\nGone: {unknown}\n{{#if unknown}}hidden{{/if}}kept",
            &vars(&[("name", "Ada")]),
        );
        assert_eq!(out, "Hello Ada, see {not a name} {\nkept");
        assert_eq!(
            placeholder_names("{a} {{#if b}}{a}{c}{{/if}} {not a name} {{#if}}"),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn whitespace_and_blank_lines_follow_the_original() {
        // A line of text that is only spaces is kept (as Python's renderer did), a line
        // whose text sits in a block left out is not.
        assert_eq!(
            render(
                "A\n  \n{{#if x}}  {{/if}}\n{{#if y}} y{{/if}} \nB",
                &vars(&[("y", "1")])
            ),
            "A\n  \n y \nB"
        );
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
