import Foundation
import Testing
@testable import KubeAPI

/// `validateEphemeralContainers` and `ValidatePodEphemeralContainersUpdate`, with the API
/// server's paths and messages.
@Suite struct EphemeralValidationTests {
    /// A pod with containers `app` and init container `setup`, and `ephemeral` (indented 2, as
    /// list items under `ephemeralContainers:`).
    func pod(_ ephemeral: String) -> String {
        podYAML("""
          initContainers:
          - name: setup
            image: busybox
          containers:
          - name: app
            image: busybox
          ephemeralContainers:
        \(ephemeral)
        """)
    }

    @Test func aPlainDebugContainerIsValidAndDefaulted() throws {
        let objects = try Manifest.decode(pod("  - name: debugger\n    image: busybox\n    stdin: true\n    tty: true\n    targetContainerName: app"), source: "t.yaml")
        guard case .pod(let p) = objects[0] else { Issue.record("not a pod"); return }
        let e = try #require(p.spec.ephemeralContainers?.first)
        #expect(e.targetContainerName == "app")
        #expect(e.container.terminationMessagePolicy == "File")
        #expect(e.container.imagePullPolicy == "Always")
        // Round trip: one flat object, `targetContainerName` beside the container's fields.
        let json = try JSONValue(encoding: e)
        #expect(json["targetContainerName"]?.stringValue == "app")
        #expect(json["name"]?.stringValue == "debugger")
    }

    @Test func namesMustBeUniqueAmongAllContainers() throws {
        let message = try #require(manifestError(pod("  - name: app\n    image: busybox\n  - name: setup\n    image: busybox\n  - name: d\n    image: busybox\n  - name: d\n    image: busybox")))
        #expect(message.contains("spec.ephemeralContainers[0].name: Duplicate value: \"app\""))
        #expect(message.contains("spec.ephemeralContainers[1].name: Duplicate value: \"setup\""))
        #expect(message.contains("spec.ephemeralContainers[3].name: Duplicate value: \"d\""))
        #expect(!message.contains("ephemeralContainers[2]"))
    }

    @Test func targetMustBeARegularOrInitContainer() throws {
        let message = try #require(manifestError(pod("  - name: a\n    image: busybox\n  - name: b\n    image: busybox\n    targetContainerName: a")))
        #expect(message.contains("spec.ephemeralContainers[1].targetContainerName: Not found: \"a\""))
        #expect(manifestError(pod("  - name: a\n    image: busybox\n    targetContainerName: setup")) == nil)
    }

    @Test func workloadFieldsAreForbidden() throws {
        let message = try #require(manifestError(pod("""
          - name: d
            image: busybox
            ports:
            - containerPort: 80
            resources:
              limits:
                cpu: 100m
            restartPolicy: Always
            readinessProbe:
              exec:
                command: ["true"]
            lifecycle:
              preStop:
                exec:
                  command: ["true"]
            volumeMounts:
            - name: v
              mountPath: /v
              subPath: x
        """) + "\n  volumes:\n  - name: v\n    emptyDir: {}"))
        for field in ["ports", "resources", "restartPolicy", "readinessProbe", "lifecycle", "volumeMounts[0].subPath"] {
            #expect(message.contains("spec.ephemeralContainers[0].\(field): Forbidden: cannot be set for an Ephemeral Container"), "\(field)")
        }
    }

    @Test func notOnCreateNorInTemplates() throws {
        var spec = PodSpec(containers: [Container(name: "app")])
        #expect(Validation.ephemeralContainersOnCreate(spec).isEmpty)
        spec.ephemeralContainers = [EphemeralContainer(Container(name: "d"))]
        #expect(Validation.ephemeralContainersOnCreate(spec).map(\.description) == ["spec.ephemeralContainers: Forbidden: cannot be set on create"])
        let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: d
        spec:
          selector:
            matchLabels: {app: d}
          template:
            metadata:
              labels: {app: d}
            spec:
              containers:
              - name: app
                image: busybox
              ephemeralContainers:
              - name: dbg
                image: busybox
        """
        #expect(manifestError(deployment)?.contains("spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template") == true)
    }

    @Test func existingOnesMayBeNeitherChangedNorRemoved() {
        var old = PodSpec(containers: [Container(name: "app")])
        old.ephemeralContainers = [EphemeralContainer(Container(name: "a", command: ["sh"])), EphemeralContainer(Container(name: "b"))]
        var added = old
        added.ephemeralContainers!.append(EphemeralContainer(Container(name: "c")))
        #expect(Validation.ephemeralContainersUpdate(old: old, new: added).isEmpty)
        // Order does not matter: a patch need not keep it.
        var reordered = added
        reordered.ephemeralContainers!.reverse()
        #expect(Validation.ephemeralContainersUpdate(old: old, new: reordered).isEmpty)
        var changed = added
        changed.ephemeralContainers![0].container.command = ["sh", "-c", "echo hi"]
        changed.ephemeralContainers!.remove(at: 1)
        #expect(Validation.ephemeralContainersUpdate(old: old, new: changed).map(\.description) == [
            "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"a\" may not be changed",
            "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"b\" may not be removed\n",
        ])
    }

    @Test func aPodUpdateMayNotTouchThem() {
        let old = PodSpec(containers: [Container(name: "app")])
        var new = old
        new.ephemeralContainers = [EphemeralContainer(Container(name: "d"))]
        #expect(Validation.podUpdateError(old: old, new: new) != nil)
    }
}
