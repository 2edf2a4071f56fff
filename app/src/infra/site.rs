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
        if !plain_authority(authority) {
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

/// The origin staff and devices reach the server by: the configured public
/// address, else the scheme and `Host` of this request (an address the admin
/// reached, which a tablet on the same network can reach too).
#[cfg(feature = "ssr")]
pub async fn origin(state: &crate::infra::AppState) -> Result<String, crate::error::AppError> {
    if let Some(url) = &state.public_url {
        return Ok(url.origin().to_string());
    }
    let headers = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .map_err(crate::error::AppError::internal)?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| plain_authority(h))
        .unwrap_or("127.0.0.1:3000");
    // With built-in HTTPS every page is served over it (plain HTTP redirects).
    let scheme = if state.https_only { "https" } else { "http" };
    Ok(format!("{scheme}://{host}"))
}

/// Where a tablet downloads the local certificate authority: plain HTTP on
/// the server's `BIND` port (it does not trust the HTTPS certificate yet),
/// at the host of `origin`.
pub fn authority_link(origin: &str, plain_port: u16) -> String {
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = match authority.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or_default()),
        None => authority.split(':').next().unwrap_or_default().to_string(),
    };
    format!("http://{host}:{plain_port}/ca.crt")
}

/// A QR code of `link` as inline SVG (at least `side` pixels), for a
/// tablet's or phone's camera to open.
#[cfg(feature = "ssr")]
pub fn qr_svg(link: &str, side: u32) -> Result<String, crate::error::AppError> {
    let svg = qrcode::QrCode::new(link.as_bytes())
        .map_err(crate::error::AppError::internal)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(side, side)
        .build();
    // The XML prolog does not belong inside an HTML page.
    Ok(svg[svg.find("<svg").unwrap_or(0)..].to_string())
}

/// Letters, digits and `.-:[]` only: a host, an IP literal and a port.
fn plain_authority(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
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
    fn the_authority_link_is_plain_http_on_the_bind_port() {
        assert_eq!(
            authority_link("https://salon.local:3443", 3000),
            "http://salon.local:3000/ca.crt"
        );
        assert_eq!(
            authority_link("https://[fe80::1]:3443", 80),
            "http://[fe80::1]:80/ca.crt"
        );
        assert_eq!(
            authority_link("https://10.0.0.5", 3000),
            "http://10.0.0.5:3000/ca.crt"
        );
    }

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
