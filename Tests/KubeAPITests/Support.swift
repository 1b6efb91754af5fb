import Foundation
@testable import KubeAPI

/// The error text `Manifest.decode` produces for `yaml`, or nil when it is accepted.
func manifestError(_ yaml: String, source: String = "test.yaml") -> String? {
    do {
        _ = try Manifest.decode(yaml, source: source)
        return nil
    } catch {
        return error.description
    }
}

/// A Pod named `p` whose `spec:` is `spec` (indented by the caller as under `spec:`).
func podYAML(_ spec: String, name: String = "p") -> String {
    """
    apiVersion: v1
    kind: Pod
    metadata:
      name: \(name)
    spec:
    \(spec)
    """
}

/// A Pod with one container `app` (busybox) whose extra fields are `container` (indented 4).
func containerYAML(_ container: String, podExtra: String = "") -> String {
    podYAML("""
      containers:
      - name: app
        image: busybox
    \(container)
    \(podExtra)
    """)
}
