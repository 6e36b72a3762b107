//! `Authentication-Results` (RFC 8601): what the receiving server concluded about DKIM, SPF and
//! DMARC, read into [`AuthResult`]s. Only the verdicts and the domain each is about are kept;
//! which server's word counts is decided by the caller (the configured authserv-id).

use crate::model::AuthResult;

/// Parses one header value such as
/// `mx.example.test; dkim=pass header.d=it.example.test; spf=fail smtp.mailfrom=x@y.test`.
/// A value without results (`mx.example.test; none`) or that cannot be read yields nothing.
pub fn parse(value: &str) -> Vec<AuthResult> {
    parse_at(value, 0)
}

/// [`parse`] for a field with `hop` `Received` fields above it.
pub fn parse_at(value: &str, hop: u32) -> Vec<AuthResult> {
    let text = without_comments(value);
    let mut parts = text.split(';');
    let Some(authserv_id) = parts
        .next()
        .and_then(|p| p.split_whitespace().next())
        .map(str::to_ascii_lowercase)
    else {
        return Vec::new();
    };
    parts
        .filter_map(|resinfo| {
            // "dkim = pass" and "dkim=pass" are the same; properties follow as ptype.prop=value.
            let normalized = resinfo.replace(" =", "=").replace("= ", "=");
            let mut tokens = normalized.split_whitespace();
            let (method, result) = tokens.next()?.split_once('=')?;
            let method = method.split('/').next()?.to_ascii_lowercase();
            let mut domain = None;
            for token in tokens {
                let Some((key, v)) = token.split_once('=') else {
                    continue;
                };
                let v = v.trim_matches('"').to_ascii_lowercase();
                let about = match key.to_ascii_lowercase().as_str() {
                    "header.d" | "header.from" | "policy.d" => Some(v),
                    // An address: the domain is what counts.
                    "header.i" | "smtp.mailfrom" | "envelope-from" => {
                        Some(v.rsplit_once('@').map_or(v.clone(), |(_, d)| d.to_owned()))
                    }
                    _ => None,
                };
                if about.is_some() && domain.is_none() {
                    domain = about;
                }
            }
            Some(AuthResult {
                authserv_id: authserv_id.clone(),
                method,
                result: result.trim_matches('"').to_ascii_lowercase(),
                domain,
                hop,
            })
        })
        .collect()
}

/// The value with RFC 5322 comments (`(…)`, nested, with `\` escapes) removed.
fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if depth > 0 => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> Vec<(String, String, String, Option<String>)> {
        parse(v)
            .into_iter()
            .map(|r| (r.authserv_id, r.method, r.result, r.domain))
            .collect()
    }

    #[test]
    fn reads_methods_results_and_domains() {
        let r = one(
            "mx.Example.test 1; dkim=pass (2048-bit key) header.d=it.example.test header.s=s1;\r\n \
             spf = fail smtp.mailfrom=\"bob@evil.test\"; dmarc=pass header.from=it.example.test",
        );
        assert_eq!(
            r,
            vec![
                (
                    "mx.example.test".into(),
                    "dkim".into(),
                    "pass".into(),
                    Some("it.example.test".into())
                ),
                (
                    "mx.example.test".into(),
                    "spf".into(),
                    "fail".into(),
                    Some("evil.test".into())
                ),
                (
                    "mx.example.test".into(),
                    "dmarc".into(),
                    "pass".into(),
                    Some("it.example.test".into())
                ),
            ]
        );
    }

    #[test]
    fn none_comments_and_garbage_yield_nothing_or_what_is_readable() {
        assert!(parse("mx.example.test; none").is_empty());
        assert!(parse("").is_empty());
        assert!(parse(";;;").is_empty());
        assert_eq!(
            one("mx (comment; with=semicolon) ; dkim=pass (a (nested) one) header.i=@it.test"),
            vec![(
                "mx".into(),
                "dkim".into(),
                "pass".into(),
                Some("it.test".into())
            )]
        );
    }
}
