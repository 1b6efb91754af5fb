import Foundation
import KubeAPI
import Testing
@testable import APIServer

func json(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

/// The strategic merge patch kubectl 1.32 sent for a real client-side apply (kubectl-wire
/// reference §9.3): a label dropped, the strategy switched (retainKeys), a volume's source
/// replaced (retainKeys), args changed, a container deleted, tolerations replaced (atomic list).
@Test func aClientSideApplyPatchAppliesAsTheAPIServerAppliesIt() throws {
    let live = try json("""
        {"metadata":{"name":"demo","labels":{"app":"demo","tier":"web"}},
         "spec":{"replicas":1,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}},
          "template":{"spec":{
            "containers":[{"name":"app","image":"busybox","args":["a"]},{"name":"sidecar","image":"busybox"}],
            "tolerations":[{"key":"k1","operator":"Exists"}],
            "volumes":[{"name":"data","emptyDir":{}}]}}}}
        """)
    let patch = try json("""
        {"metadata":{"labels":{"tier":null}},
         "spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},
          "template":{"spec":{
            "$setElementOrder/containers":[{"name":"app"}],
            "$setElementOrder/volumes":[{"name":"data"}],
            "containers":[{"args":["c"],"name":"app"},{"$patch":"delete","name":"sidecar"}],
            "tolerations":[{"key":"k2","operator":"Exists"}],
            "volumes":[{"$retainKeys":["configMap","name"],"configMap":{"name":"cfg"},"emptyDir":null,"name":"data"}]}}}}
        """)
    let result = try Patch.strategicMerge(live, patch)
    let expected = try json("""
        {"metadata":{"name":"demo","labels":{"app":"demo"}},
         "spec":{"replicas":1,"strategy":{"type":"Recreate"},
          "template":{"spec":{
            "containers":[{"name":"app","image":"busybox","args":["c"]}],
            "tolerations":[{"key":"k2","operator":"Exists"}],
            "volumes":[{"name":"data","configMap":{"name":"cfg"}}]}}}}
        """)
    #expect(result == expected)
}

@Test func keyedListsMergeByTheirKeyAndKeepTheOrderAsked() throws {
    let live = try json("""
        {"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
                                "ports":[{"containerPort":80,"protocol":"TCP"}]}]}}
        """)
    let patch = try json("""
        {"spec":{"containers":[{"name":"app","$setElementOrder/env":[{"name":"C"},{"name":"A"}],
                                "env":[{"name":"A","value":"10"},{"$patch":"delete","name":"B"},{"name":"C","value":"3"}],
                                "ports":[{"containerPort":81}]}]}}
        """)
    let result = try Patch.strategicMerge(live, patch)
    let container = result["spec"]?["containers"]?.arrayValue?.first
    #expect(container?["env"] == (try json(#"[{"name":"C","value":"3"},{"name":"A","value":"10"}]"#)))
    #expect(container?["ports"] == (try json(#"[{"containerPort":80,"protocol":"TCP"},{"containerPort":81}]"#)))
}

@Test func mergePatchAndJSONPatchFollowTheirRFCs() throws {
    let live = try json(#"{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"replicas":1,"list":[1,2]}}"#)
    let merged = Patch.mergePatch(live, try json(#"{"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"list":[3]}}"#))
    #expect(merged == (try json(#"{"metadata":{"labels":{"b":"2","c":"3"}},"spec":{"replicas":1,"list":[3]}}"#)))
    let patched = try Patch.jsonPatch(live, try json("""
        [{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/spec/list/-","value":9},
         {"op":"remove","path":"/metadata/labels/a"},{"op":"test","path":"/metadata/labels/b","value":"2"}]
        """))
    #expect(patched == (try json(#"{"metadata":{"labels":{"b":"2"}},"spec":{"replicas":3,"list":[1,2,9]}}"#)))
    #expect(throws: APIError.self) { try Patch.jsonPatch(live, try json(#"[{"op":"replace","path":"/spec/missing","value":1}]"#)) }
}

@Test func labelSelectorsParseEveryOperator() throws {
    let q = try LabelQuery("app=web,tier!=db,env in (prod, staging),!legacy,track,zone notin (b)")
    #expect(q.matches(["app": "web", "tier": "fe", "env": "prod", "track": "x", "zone": "a"]))
    #expect(!q.matches(["app": "web", "tier": "fe", "env": "dev", "track": "x"]))
    #expect(!q.matches(["app": "web", "env": "prod", "track": "x", "legacy": "1"]))
    #expect(!q.matches(["app": "web", "env": "prod", "track": "x", "zone": "b"]))
    #expect(throws: APIError.self) { try FieldQuery("spec.bogus=1", resource: .pods) }
    let f = try FieldQuery("metadata.name=web,status.phase!=Failed", resource: .pods)
    #expect(f.matches(try json(#"{"metadata":{"name":"web"},"status":{"phase":"Running"}}"#)))
    #expect(!f.matches(try json(#"{"metadata":{"name":"web"},"status":{"phase":"Failed"}}"#)))
}
