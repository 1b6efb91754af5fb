import KubeAPI
import Testing

/// Kubernetes reads manifests with go-yaml v2 (YAML 1.1), so must Tandem.
@Suite struct YAML11Tests {
    @Test func leadingZeroIsOctalAndQuotedStaysString() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: c, image: busybox, env: [{name: A, value: "0644"}]}]
          volumes: [{name: s, secret: {secretName: x, defaultMode: 0400}}]
        """
        let objects = try Manifest.decode(yaml, source: "test")
        guard case .pod(let pod) = objects.first else { Issue.record("not a pod"); return }
        #expect(pod.spec.volumes?.first?.secret?.defaultMode == 0o400)
        #expect(pod.spec.containers[0].env?.first?.value == "0644")
    }

    @Test func plainYesIsABooleanAsInGoYAML() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {enabled: yes}\n"
        #expect(throws: ManifestError.self) { try Manifest.decode(yaml, source: "test") }
    }
}
