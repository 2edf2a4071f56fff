//! Built-in HTTPS, so a kiosk tablet on the showroom Wi-Fi gets the camera
//! (browsers give it only to secure pages) without a reverse proxy. Either
//! the dealership's own certificate and key, or a local certificate
//! authority made on first start and kept in DATA_DIR/tls: tablets install
//! its certificate (`/ca.crt`) once, and every server certificate it signs
//! is then trusted. The server certificate is issued again at every start
//! for the machine's current names and addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::config::Config;
use crate::error::ServerError;

/// The authority's name, fixed: the certificate tablets trust is rebuilt
/// from it and the stored key, so it never changes under them.
const CA_NAME: &str = "Avtosalon Analitika local CA";

/// What the HTTPS listener serves.
pub struct TlsMaterial {
    /// Server certificate, then the authority's (PEM).
    pub chain_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// The local authority's certificate for tablets to install; None with
    /// the dealership's own certificate.
    pub ca_pem: Option<String>,
}

/// The local authority's folder inside the data directory.
fn tls_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tls")
}

/// The local authority's certificate, the one tablets install.
pub fn authority_certificate(data_dir: &Path) -> PathBuf {
    tls_dir(data_dir).join("ca.pem")
}

/// The certificate and key to serve, made or read as configured.
pub fn prepare(config: &Config) -> Result<TlsMaterial, ServerError> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Ok(TlsMaterial {
            chain_pem: read(cert)?,
            key_pem: read(key)?,
            ca_pem: None,
        }),
        (None, None) => local_authority(&config.data_dir, &names(config)),
        _ => Err(ServerError::Config(
            "TLS_CERT and TLS_KEY go together: give both files, or neither for a local certificate authority".into(),
        )),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ServerError> {
    std::fs::read(path)
        .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))
}

fn tls_error(what: &str, error: impl std::fmt::Display) -> ServerError {
    ServerError::Config(format!("HTTPS: {what}: {error}"))
}

/// The names a tablet may use for this machine: localhost, the host name
/// (also as `.local`), the address it listens on, its LAN address, and
/// whatever TLS_NAMES adds.
pub fn names(config: &Config) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
    ];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
            names.push(format!("{host}.local"));
        }
    }
    if let Some(bind) = config.tls_bind.filter(|b| !b.ip().is_unspecified()) {
        names.push(bind.ip().to_string());
    }
    names.extend(lan_address().map(|ip| ip.to_string()));
    names.extend(
        config
            .tls_names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
    );
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The address other devices reach this machine at: the one the system
/// would send from (a UDP "connect" sends nothing).
fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn authority_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    params
}

/// Reads the authority (making it the first time) and issues a server
/// certificate for `names`.
fn local_authority(data_dir: &Path, names: &[String]) -> Result<TlsMaterial, ServerError> {
    let dir = tls_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| ServerError::DataDir(dir.clone(), e))?;
    let (ca_cert_path, ca_key_path) = (authority_certificate(data_dir), dir.join("ca-key.pem"));
    let ca_key = match std::fs::read_to_string(&ca_key_path) {
        Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| tls_error("the stored authority key", e))?,
        Err(_) => {
            let key = KeyPair::generate().map_err(|e| tls_error("a new authority key", e))?;
            write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
            key
        }
    };
    // The certificate tablets installed stays as it is; signing the same name
    // and key again would give other bytes (ECDSA signatures are randomised)
    // that chain the same way.
    let params = authority_params();
    let ca_pem = match std::fs::read_to_string(&ca_cert_path) {
        Ok(pem) if pem.contains("BEGIN CERTIFICATE") => pem,
        _ => {
            let pem = params
                .self_signed(&ca_key)
                .map_err(|e| tls_error("the authority certificate", e))?
                .pem();
            std::fs::write(&ca_cert_path, &pem)
                .map_err(|e| ServerError::DataDir(ca_cert_path.clone(), e))?;
            pem
        }
    };
    let mut leaf = CertificateParams::new(names.to_vec()).map_err(|e| tls_error("a name", e))?;
    let mut subject = DistinguishedName::new();
    subject.push(
        DnType::CommonName,
        names.first().map_or("localhost", String::as_str),
    );
    leaf.distinguished_name = subject;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    // Browsers refuse server certificates valid for more than 398 days.
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    leaf.not_before = day(today - chrono::Days::new(1));
    leaf.not_after = day(today + chrono::Days::new(390));
    let leaf_key = KeyPair::generate().map_err(|e| tls_error("a server key", e))?;
    let issuer = Issuer::from_params(&params, &ca_key);
    let cert = leaf
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| tls_error("the server certificate", e))?;
    Ok(TlsMaterial {
        chain_pem: format!("{}{}", cert.pem(), ca_pem).into_bytes(),
        key_pem: leaf_key.serialize_pem().into_bytes(),
        ca_pem: Some(ca_pem),
    })
}

/// A key file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| ServerError::DataDir(path.to_path_buf(), e))?;
    file.write_all(bytes)
        .map_err(|e| ServerError::DataDir(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_survives_a_restart_and_signs_for_every_name() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "salon.local".to_string(),
        ];
        let first = local_authority(dir.path(), &names).unwrap();
        let second = local_authority(dir.path(), &names).unwrap();
        // Tablets trust the authority once: a restart keeps it.
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_ne!(
            first.key_pem, second.key_pem,
            "the server key is new each start"
        );
        let mode = std::fs::metadata(tls_dir(dir.path()).join("ca-key.pem")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
        let chain = String::from_utf8(first.chain_pem).unwrap();
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    }
}
