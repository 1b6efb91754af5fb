import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The server's credentials, made on first start and kept in `ROOT/pki` (mode 0600): a
/// self-signed CA, a serving certificate it signed, and a bearer token. kubectl trusts the CA
/// through the kubeconfig's `certificate-authority-data` and sends the token; it never sends a
/// token over plain HTTP. The serving certificate names every address clients verify (Go's TLS
/// ignores the CN): `127.0.0.1` and `localhost` for kubectl, and for in-cluster clients the
/// `kubernetes` Service's ClusterIP, the pod bridge address and the Service's DNS names
/// (kube-apiserver's `kubernetes`, `kubernetes.default`, … `kubernetes.default.svc.cluster.local`).
public struct PKI: Sendable {
    public let caPEM: String
    public let certPEM: String
    public let keyPEM: String
    public let token: String

    /// The DNS names of the serving certificate: `localhost` and the `kubernetes` Service's names.
    public static let dnsNames = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                  "kubernetes.default.svc.cluster.local"]

    /// Loads the credentials from `dir`, creating what is missing. A serving certificate that
    /// lacks one of the names (`ipAddresses` beside `127.0.0.1`, `dnsNames`) — one written by an
    /// older Tandem, or before the ClusterIP changed — is made again with the same CA, so clients
    /// holding the CA keep trusting the server.
    public static func load(dir: String, ipAddresses: [String] = []) throws -> PKI {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let paths = (ca: dir + "/ca.crt", caKey: dir + "/ca.key", cert: dir + "/apiserver.crt", key: dir + "/apiserver.key", token: dir + "/token")
        let ips = ["127.0.0.1"] + ipAddresses.filter { $0 != "127.0.0.1" }
        if let ca = read(paths.ca), let caKeyPEM = read(paths.caKey), let cert = read(paths.cert), let key = read(paths.key), let token = read(paths.token) {
            if try names(certPEM: cert, cover: ips) {
                return PKI(caPEM: ca, certPEM: cert, keyPEM: key, token: token.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let caCert = try Certificate(pemEncoded: ca)
            let caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
            let (leaf, leafKey) = try servingCertificate(issuer: caCert.subject, issuerKey: caKey, ips: ips)
            let pki = PKI(caPEM: ca, certPEM: try leaf.serializeAsPEM().pemString + "\n", keyPEM: leafKey.pemRepresentation + "\n",
                          token: token.trimmingCharacters(in: .whitespacesAndNewlines))
            try write(paths.key, pki.keyPEM)
            try write(paths.cert, pki.certPEM)
            return pki
        }
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("tandem-ca") }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let (leaf, key) = try servingCertificate(issuer: caName, issuerKey: caKey, ips: ips)
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let pki = PKI(caPEM: try ca.serializeAsPEM().pemString + "\n", certPEM: try leaf.serializeAsPEM().pemString + "\n",
                      keyPEM: key.pemRepresentation + "\n", token: bytes.map { String(format: "%02x", $0) }.joined())
        try write(paths.caKey, caKey.pemRepresentation + "\n")
        try write(paths.ca, pki.caPEM)
        try write(paths.cert, pki.certPEM)
        try write(paths.key, pki.keyPEM)
        try write(paths.token, pki.token + "\n")
        return pki
    }

    /// A serving certificate for `ips` and `dnsNames`, signed by the CA, valid for a year.
    static func servingCertificate(issuer: DistinguishedName, issuerKey: P256.Signing.PrivateKey, ips: [String]) throws
        -> (Certificate, P256.Signing.PrivateKey) {
        let now = Date()
        let key = P256.Signing.PrivateKey()
        let names = ips.compactMap(ipv4Octets).map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
            + dnsNames.map { GeneralName.dnsName($0) }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: issuer, subject: try DistinguishedName { CommonName("kube-apiserver") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(issuerKey))
        return (leaf, key)
    }

    /// Whether the certificate names every one of `ips` and `dnsNames`.
    static func names(certPEM: String, cover ips: [String]) throws -> Bool {
        let cert = try Certificate(pemEncoded: certPEM)
        let sans = try cert.extensions.subjectAlternativeNames.map(Array.init) ?? []
        var haveIPs: Set<[UInt8]> = []
        var haveNames: Set<String> = []
        for name in sans {
            switch name {
            case .ipAddress(let octets): haveIPs.insert(Array(octets.bytes))
            case .dnsName(let dns): haveNames.insert(dns)
            default: break
            }
        }
        return ips.compactMap(ipv4Octets).allSatisfy(haveIPs.contains) && dnsNames.allSatisfy(haveNames.contains)
    }

    static func ipv4Octets(_ ip: String) -> [UInt8]? {
        let parts = ip.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }

    public func tlsConfiguration() throws -> TLSConfiguration {
        let cert = try NIOSSLCertificate(bytes: Array(certPEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(cert)], privateKey: .privateKey(key))
    }

    /// A kubeconfig for kubectl: the server, the CA, the token, namespace `default`.
    public func kubeconfig(server: String) -> String {
        let ca = Data(caPEM.utf8).base64EncodedString()
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: tandem
              cluster:
                server: \(server)
                certificate-authority-data: \(ca)
            users:
            - name: tandem-admin
              user:
                token: \(token)
            contexts:
            - name: tandem
              context:
                cluster: tandem
                user: tandem-admin
                namespace: default
            current-context: tandem
            preferences: {}

            """
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes a file with mode 0600 from the start (never briefly readable by others).
    public static func write(_ path: String, _ text: String) throws {
        let tmp = path + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: nil, attributes: [.posixPermissions: 0o600])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
        guard rename(tmp, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }
}
