import Foundation
import KubeAPI
import Testing
@testable import Node

/// The kubelet's Service environment variables: `FromServices`'s names and values, and
/// `getServiceEnvVarMap`'s choice of Services (the master Service always, the pod's namespace
/// with `enableServiceLinks`), as `ContainerEnvironment` places them.
@Suite struct ServiceEnvironmentTests {
    static func service(_ json: String) throws -> Service {
        try JSONDecoder().decode(Service.self, from: Data(json.utf8))
    }

    static let kubernetes = #"{"metadata":{"name":"kubernetes","namespace":"default"},"spec":{"clusterIP":"10.96.0.1","ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}}"#

    @Test func fromServicesNamesEveryPortAsTheKubeletDoes() throws {
        let s = try Self.service(#"{"metadata":{"name":"my-svc-v2","namespace":"ns"},"spec":{"clusterIP":"10.96.3.4","ports":[{"port":80},{"name":"dns-udp","port":53,"protocol":"UDP"}]}}"#)
        let env = ServiceEnvironment.fromService(s)
        // The order of FromServices: host, first port, named ports, then the link variables port by port.
        #expect(env.map(\.0) == [
            "MY_SVC_V2_SERVICE_HOST", "MY_SVC_V2_SERVICE_PORT", "MY_SVC_V2_SERVICE_PORT_DNS_UDP",
            "MY_SVC_V2_PORT", "MY_SVC_V2_PORT_80_TCP", "MY_SVC_V2_PORT_80_TCP_PROTO", "MY_SVC_V2_PORT_80_TCP_PORT", "MY_SVC_V2_PORT_80_TCP_ADDR",
            "MY_SVC_V2_PORT_53_UDP", "MY_SVC_V2_PORT_53_UDP_PROTO", "MY_SVC_V2_PORT_53_UDP_PORT", "MY_SVC_V2_PORT_53_UDP_ADDR",
        ])
        let values = Dictionary(uniqueKeysWithValues: env)
        #expect(values["MY_SVC_V2_SERVICE_HOST"] == "10.96.3.4")
        #expect(values["MY_SVC_V2_SERVICE_PORT"] == "80")
        #expect(values["MY_SVC_V2_SERVICE_PORT_DNS_UDP"] == "53")
        #expect(values["MY_SVC_V2_PORT"] == "tcp://10.96.3.4:80")
        #expect(values["MY_SVC_V2_PORT_53_UDP"] == "udp://10.96.3.4:53")
        #expect(values["MY_SVC_V2_PORT_53_UDP_PROTO"] == "udp")
        #expect(values["MY_SVC_V2_PORT_53_UDP_PORT"] == "53")
        #expect(values["MY_SVC_V2_PORT_53_UDP_ADDR"] == "10.96.3.4")
    }

    /// `makeEnvVariableName` only upper-cases and turns `-` into `_` (its TODO leaves leading
    /// digits alone), so a port named `8080-http` is `…_SERVICE_PORT_8080_HTTP`.
    @Test func namesAreUpperCasedWithDashesAsUnderscores() {
        #expect(ServiceEnvironment.variableName("8080-http") == "8080_HTTP")
        #expect(ServiceEnvironment.variableName("web") == "WEB")
    }

    @Test func headlessAndUnallocatedServicesGetNoVariables() throws {
        let headless = try Self.service(#"{"metadata":{"name":"h","namespace":"ns"},"spec":{"clusterIP":"None","ports":[{"port":80}]}}"#)
        let pending = try Self.service(#"{"metadata":{"name":"p","namespace":"ns"},"spec":{"ports":[{"port":80}]}}"#)
        #expect(ServiceEnvironment.variables(services: [headless, pending], namespace: "ns", enableServiceLinks: true).isEmpty)
    }

    @Test func theMasterServiceIsSeenEvenWithoutServiceLinks() throws {
        let master = try Self.service(Self.kubernetes)
        let own = try Self.service(#"{"metadata":{"name":"web","namespace":"ns"},"spec":{"clusterIP":"10.96.0.20","ports":[{"port":8080}]}}"#)
        let other = try Self.service(#"{"metadata":{"name":"db","namespace":"elsewhere"},"spec":{"clusterIP":"10.96.0.30","ports":[{"port":5432}]}}"#)
        let linked = Dictionary(uniqueKeysWithValues: ServiceEnvironment.variables(services: [master, own, other], namespace: "ns", enableServiceLinks: true))
        #expect(linked["KUBERNETES_SERVICE_HOST"] == "10.96.0.1")
        #expect(linked["KUBERNETES_SERVICE_PORT"] == "443")
        #expect(linked["KUBERNETES_SERVICE_PORT_HTTPS"] == "443")
        #expect(linked["KUBERNETES_PORT_443_TCP"] == "tcp://10.96.0.1:443")
        #expect(linked["WEB_SERVICE_HOST"] == "10.96.0.20")
        #expect(linked["DB_SERVICE_HOST"] == nil)
        let unlinked = ServiceEnvironment.variables(services: [master, own, other], namespace: "ns", enableServiceLinks: false)
        #expect(unlinked.map(\.0).allSatisfy { $0.hasPrefix("KUBERNETES_") })
        // HOST, PORT, PORT_HTTPS; PORT; PORT_443_TCP and its PROTO, PORT, ADDR: the eight a cluster gives.
        #expect(unlinked.count == 8)
    }

    @Test func aServiceNamedKubernetesInThePodsNamespaceWins() throws {
        let master = try Self.service(Self.kubernetes)
        let own = try Self.service(#"{"metadata":{"name":"kubernetes","namespace":"ns"},"spec":{"clusterIP":"10.96.0.99","ports":[{"port":80}]}}"#)
        for services in [[master, own], [own, master]] {
            let env = Dictionary(uniqueKeysWithValues: ServiceEnvironment.variables(services: services, namespace: "ns", enableServiceLinks: true))
            #expect(env["KUBERNETES_SERVICE_HOST"] == "10.96.0.99")
        }
    }

    @Test func envAndEnvFromOverrideThemAndExpansionSeesThem() throws {
        let own = try Self.service(#"{"metadata":{"name":"web","namespace":"ns"},"spec":{"clusterIP":"10.96.0.20","ports":[{"port":8080}]}}"#)
        var container = Container(name: "c")
        container.env = [EnvVar(name: "URL", value: "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/"),
                         EnvVar(name: "WEB_SERVICE_PORT", value: "9999")]
        let pod = Pod(metadata: ObjectMeta(name: "p", namespace: "ns"), spec: PodSpec(containers: [container]))
        let env = try ContainerEnvironment.environment(for: container, pod: pod, podIP: nil, hostIP: "127.0.0.1", nodeName: "n",
                                                       configMaps: [:], secrets: [:], imageEnv: [], services: [own]).env
        let values = Dictionary(env, uniquingKeysWith: { _, last in last })
        #expect(env.filter { $0.0 == "WEB_SERVICE_PORT" }.count == 1)
        #expect(values["WEB_SERVICE_PORT"] == "9999")
        #expect(values["URL"] == "http://10.96.0.20:8080/")
        #expect(values["WEB_SERVICE_HOST"] == "10.96.0.20")
    }
}
