//! The address staff and devices use to reach the server, when the operator
//! sets it (`PUBLIC_URL`, e.g. behind an HTTPS proxy): pairing links use it,
//! cookies are marked `Secure` and HSTS is sent when it is `https://`, and
//! requests from its origin are same-site.

/// A validated `http(s)://host[:port]` with nothing after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
}

impl PublicUrl {
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let lowered = text.trim().trim_end_matches('/').to_ascii_lowercase();
        let authority = lowered
            .strip_prefix("https://")
            .or_else(|| lowered.strip_prefix("http://"))
            .ok_or_else(|| format!("{text:?} must start with http:// or https://"))?;
        let host_is_plain = !authority.is_empty()
            && authority
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
        if !host_is_plain {
            return Err(format!(
                "{text:?} must be a scheme and host (and port) only, like https://salon.example"
            ));
        }
        Ok(PublicUrl { origin: lowered })
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }
}

impl std::str::FromStr for PublicUrl {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        PublicUrl::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_scheme_and_host_are_accepted() {
        let url = PublicUrl::parse(" HTTPS://Salon.Example:8443/ ").unwrap();
        assert_eq!(url.origin(), "https://salon.example:8443");
        assert!(url.is_https());
        assert!(!PublicUrl::parse("http://10.0.0.5").unwrap().is_https());
        for bad in [
            "salon.example",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://u@h",
            "https://h?x",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
