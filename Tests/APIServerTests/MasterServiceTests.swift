import APIStore
import Foundation
import KubeAPI
import Testing
@testable import APIServer

/// The `kubernetes` Service the API server keeps, and the serving certificate in-cluster
/// clients verify.
@Suite struct MasterServiceTests {
    func withDir(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "master-service-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try body(dir)
    }

    @Test func reconcilingWritesOnlyWhatDiffers() throws {
        try withDir { dir in
            let registry = Registry(store: try ObjectStore(path: dir + "/db.sqlite"), nodeName: "n")
            try registry.bootstrap()
            let master = MasterService(clusterIP: "10.96.0.1", endpointIP: "10.88.0.1", apiPort: 6443)
            registry.reconcileMasterService(master)
            let svc = try registry.get(.services, namespace: "default", name: "kubernetes")
            #expect(svc["spec"]?["clusterIP"] == .string("10.96.0.1"))
            #expect(svc["spec"]?["ports"]?.arrayValue?.first?["targetPort"] == .int(6443))
            let ep = try registry.get(.endpoints, namespace: "default", name: "kubernetes")
            #expect(ep["subsets"]?.arrayValue?.first?["addresses"]?.arrayValue?.first?["ip"] == .string("10.88.0.1"))
            let slice = try registry.get(.endpointSlices, namespace: "default", name: "kubernetes")
            #expect(slice["apiVersion"] == .string("discovery.k8s.io/v1"))

            // A second pass over an unchanged store writes nothing (its own writes wake it).
            let revision = try registry.store.revision()
            registry.reconcileMasterService(master)
            #expect(try registry.store.revision() == revision)

            // A new port (serve restarted on another) rewrites the Service and the endpoints.
            registry.reconcileMasterService(MasterService(clusterIP: "10.96.0.1", endpointIP: "10.88.0.1", apiPort: 7443))
            let moved = try registry.get(.services, namespace: "default", name: "kubernetes")
            #expect(moved["spec"]?["ports"]?.arrayValue?.first?["targetPort"] == .int(7443))
            #expect(moved["metadata"]?["uid"] == svc["metadata"]?["uid"])
            let epMoved = try registry.get(.endpoints, namespace: "default", name: "kubernetes")
            #expect(epMoved["subsets"]?.arrayValue?.first?["ports"]?.arrayValue?.first?["port"] == .int(7443))

            // Another ClusterIP: the Service is made anew (clusterIP is immutable).
            registry.reconcileMasterService(MasterService(clusterIP: "10.96.0.2", endpointIP: "10.88.0.1", apiPort: 7443))
            let renumbered = try registry.get(.services, namespace: "default", name: "kubernetes")
            #expect(renumbered["spec"]?["clusterIP"] == .string("10.96.0.2"))
            #expect(renumbered["metadata"]?["uid"] != svc["metadata"]?["uid"])
        }
    }

    @Test func anOlderServingCertificateIsRemadeWithTheSameCA() throws {
        try withDir { dir in
            let old = try PKI.load(dir: dir)
            #expect(try PKI.names(certPEM: old.certPEM, cover: ["127.0.0.1"]))
            #expect(try !PKI.names(certPEM: old.certPEM, cover: ["127.0.0.1", "10.96.0.1"]))
            let new = try PKI.load(dir: dir, ipAddresses: ["10.96.0.1", "10.88.0.1"])
            #expect(new.caPEM == old.caPEM)
            #expect(new.token == old.token)
            #expect(new.certPEM != old.certPEM)
            #expect(try PKI.names(certPEM: new.certPEM, cover: ["127.0.0.1", "10.96.0.1", "10.88.0.1"]))
            // Kept from then on while it names everything asked for.
            #expect(try PKI.load(dir: dir, ipAddresses: ["10.96.0.1"]).certPEM == new.certPEM)
            #expect(try String(contentsOfFile: dir + "/apiserver.crt", encoding: .utf8) == new.certPEM)
            // It loads as the server's TLS configuration (certificate and key together).
            _ = try new.tlsConfiguration()
        }
    }
}
