//! Classifying MIT Kerberos failures: by the krb5 error code when the GSSAPI mechglue kept it,
//! else by its text. MIT's mechglue renumbers minor codes it maps (so the code alone is not
//! reliable), and libkrb5 often replaces a code's text with a message naming the principal
//! (`krb5_rd_req`, `krb5_get_init_creds`). Texts are compared in the process's language: the
//! code texts as libkrb5 gives them, and the formats as gettext translates them.

use std::sync::OnceLock;

/// The first code of MIT's com_err table `krb5` (`krb5_err.et`): its codes are BASE + n.
pub(crate) const BASE: i32 = -1_765_328_384;

/// One table of what MIT failures mean to a caller: codes and message formats, each with the
/// class `C` it names.
pub(crate) struct MitErrors<C: 'static> {
    codes: &'static [(i32, C)],
    /// printf formats from MIT's sources, in the `mit-krb5` gettext domain.
    formats: &'static [(&'static str, C)],
    known: OnceLock<Known<C>>,
}

/// The texts a minor status is compared with, in the process's language.
struct Known<C> {
    /// libkrb5's text for each code.
    messages: Vec<(String, C)>,
    /// Each format as MIT would print it (translated), cut at its `%s`/`%d`.
    formats: Vec<(Vec<String>, C)>,
}

impl<C: Copy + 'static> MitErrors<C> {
    pub(crate) const fn new(
        codes: &'static [(i32, C)],
        formats: &'static [(&'static str, C)],
    ) -> Self {
        Self {
            codes,
            formats,
            known: OnceLock::new(),
        }
    }

    /// The class of a failure with this minor status and text, if the table names one.
    pub(crate) fn classify(&self, minor: u32, text: &str) -> Option<C> {
        // The code itself, when the mechglue did not renumber it. (`as`: a com_err code is an
        // i32 carried in an OM_uint32.)
        if let Some(&(_, class)) = self.codes.iter().find(|(code, _)| *code as u32 == minor) {
            return Some(class);
        }
        self.known().classify(text)
    }

    fn known(&self) -> &Known<C> {
        self.known.get_or_init(|| Known {
            messages: self
                .codes
                .iter()
                .filter_map(|&(code, class)| Some((crate::krb5::error_text(code)?, class)))
                .collect(),
            formats: self
                .formats
                .iter()
                .map(|&(f, class)| (pieces(&crate::sys::gettext("mit-krb5", f)), class))
                .collect(),
        })
    }
}

impl<C: Copy> Known<C> {
    fn classify(&self, text: &str) -> Option<C> {
        if let Some((_, class)) = self.messages.iter().find(|(m, _)| m == text) {
            return Some(*class);
        }
        self.formats
            .iter()
            .find(|(pieces, _)| fits(text, pieces))
            .map(|(_, class)| *class)
    }
}

/// The literal pieces of a printf format between its conversions.
fn pieces(format: &str) -> Vec<String> {
    format
        .split("%s")
        .flat_map(|p| p.split("%d"))
        .map(str::to_owned)
        .collect()
}

/// Whether `text` is `pieces` with anything in the gaps: the first piece starts it, the last
/// ends it, the others follow in order.
fn fits(text: &str, pieces: &[String]) -> bool {
    let [first, middle @ .., last] = pieces else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for piece in middle {
        match rest.find(piece.as_str()) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Class {
        Replay,
        Skew,
        NotUs,
    }

    const CODES: &[(i32, Class)] = &[(BASE + 34, Class::Replay), (BASE + 37, Class::Skew)];
    const FORMATS: &[(&str, Class)] = &[
        (
            "Request ticket server %s not found in keytab (ticket kvno %d)",
            Class::NotUs,
        ),
        (
            "Request ticket server %s kvno %d not found in keytab; keytab is likely out of date",
            Class::NotUs,
        ),
    ];

    /// The table with English texts, whatever the process's language.
    fn english() -> Known<Class> {
        Known {
            messages: vec![
                ("Request is a replay".into(), Class::Replay),
                ("Clock skew too great".into(), Class::Skew),
            ],
            formats: FORMATS.iter().map(|&(f, c)| (pieces(f), c)).collect(),
        }
    }

    #[test]
    fn classes_from_codes_texts_and_formats() {
        let table = MitErrors::new(CODES, FORMATS);
        assert_eq!(
            table.classify((BASE + 37) as u32, "whatever"),
            Some(Class::Skew)
        );
        let k = english();
        assert_eq!(k.classify("Request is a replay"), Some(Class::Replay));
        assert_eq!(
            k.classify("Request ticket server HTTP/x@R not found in keytab (ticket kvno 1)"),
            Some(Class::NotUs)
        );
        assert_eq!(
            k.classify(
                "Request ticket server HTTP/x@R kvno 3 not found in keytab; keytab is likely \
                 out of date"
            ),
            Some(Class::NotUs)
        );
        // Near misses stay unclassified.
        for text in [
            "Request is a replay!",
            "Request ticket server HTTP/x@R not found in keytab",
            "No keys in keytab",
            "",
        ] {
            assert_eq!(k.classify(text), None, "{text}");
        }
    }

    #[test]
    fn libkrb5_gives_the_texts_of_the_codes() {
        let table = MitErrors::new(CODES, FORMATS);
        let k = table.known();
        assert_eq!(k.messages.len(), CODES.len());
        assert!(k
            .messages
            .iter()
            .any(|(m, c)| m == "Request is a replay" && *c == Class::Replay));
        assert_eq!(k.formats.len(), FORMATS.len());
        assert_eq!(
            table.classify(1, "Request is a replay"),
            Some(Class::Replay)
        );
    }

    #[test]
    fn pieces_and_fits() {
        let p = pieces("Client '%s' not found in Kerberos database");
        assert!(fits("Client 'bob@R' not found in Kerberos database", &p));
        assert!(!fits("Client 'bob@R' not found", &p));
        assert!(!fits("", &[]));
    }
}
