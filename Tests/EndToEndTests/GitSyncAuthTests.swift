import Foundation
import Testing

/// A git smart-HTTP server with basic auth: the host's `git http-backend` as CGI behind Python's
/// http.server, on an ephemeral loopback port. Answers 401 to any other credentials.
final class AuthGitServer {
    let process = Process()
    let port: Int

    init(projectRoot: String, username: String, password: String, dir: String) throws {
        let portFile = dir + "/git-http.port"
        let script = """
            import base64, http.server, os, subprocess, sys
            root, user, password, port_file = sys.argv[1:5]
            expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            class H(http.server.BaseHTTPRequestHandler):
                def git(self):
                    if self.headers.get("Authorization") != expected:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="git"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    path, _, query = self.path.partition("?")
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path, QUERY_STRING=query,
                               REQUEST_METHOD=self.command, CONTENT_TYPE=self.headers.get("Content-Type", ""),
                               CONTENT_LENGTH=str(len(body)), REMOTE_USER=user, HTTP_GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
                    out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
                    head, _, rest = out.partition(b"\\r\\n\\r\\n")
                    status, headers = 200, []
                    for line in head.decode().split("\\r\\n"):
                        k, _, v = line.partition(":")
                        if k.lower() == "status": status = int(v.split()[0])
                        elif k: headers.append((k, v.strip()))
                    self.send_response(status)
                    for k, v in headers: self.send_header(k, v)
                    self.send_header("Content-Length", str(len(rest)))
                    self.end_headers()
                    self.wfile.write(rest)
                do_GET = do_POST = git
                def log_message(self, *a): pass
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            with open(port_file + ".tmp", "w") as f: f.write(str(server.server_port))
            os.rename(port_file + ".tmp", port_file)
            server.serve_forever()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, projectRoot, username, password, portFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found = 0
        _ = eventually(10) {
            found = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) } ?? 0
            return found > 0
        }
        port = found
    }

    /// SIGKILL: the test process may hand its children a blocked SIGTERM, which python keeps.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// git-sync's `--username` with `--password`, `--password-file` or their `GITSYNC_*` /
/// `GIT_SYNC_*` variables, against a repository served over HTTP with basic auth.
@Suite(.serialized) struct GitSyncAuthTests {
    @Test func credentialsFromFlagsFilesAndEnvironmentReachGit() throws {
        let repo = try GitFixture()
        let server = try AuthGitServer(projectRoot: repo.dir, username: "syncer", password: "s3cret token", dir: repo.dir)
        defer {
            server.stop()
            repo.cleanup()
        }
        #expect(server.port > 0, "the git HTTP server did not start")
        let hash = try repo.commit(["index.html": "private\n"])
        let url = "http://127.0.0.1:\(server.port)/site.git"
        try "s3cret token\n".write(toFile: repo.dir + "/password", atomically: true, encoding: .utf8)

        let cases: [(name: String, args: [String], env: [String: String])] = [
            ("password file", ["--username", "syncer", "--password-file", repo.dir + "/password"], [:]),
            ("GITSYNC_ variables", [], ["GITSYNC_USERNAME": "syncer", "GITSYNC_PASSWORD": "s3cret token"]),
            ("v3 GIT_SYNC_ variables", [], ["GIT_SYNC_USERNAME": "syncer", "GIT_SYNC_PASSWORD": "s3cret token"]),
        ]
        for (i, c) in cases.enumerated() {
            let root = repo.dir + "/root\(i)"
            let p = try GitSyncRun(["--repo", url, "--root", root, "--ref", "master", "--one-time"] + c.args, env: c.env)
            p.process.waitUntilExit()
            #expect(p.process.terminationStatus == 0, "\(c.name): \(p.log)")
            #expect(publishedHash(root + "/\("site.git")") == hash, "\(c.name)")
            p.stop()
        }

        for (name, args) in [("wrong password", ["--username", "syncer", "--password", "guess"]), ("no credentials", [])] {
            let p = try GitSyncRun(["--repo", url, "--root", repo.dir + "/denied", "--ref", "master", "--one-time"] + args)
            p.process.waitUntilExit()
            #expect(p.process.terminationStatus == 1, "\(name): \(p.log)")
            #expect(p.log.contains("Authentication failed"), "\(name): \(p.log)")
            p.stop()
        }
    }

    @Test(arguments: [
        (["--username", "u"], [String: String](), "required flag: --password or --password-file must be specified when --username is specified"),
        (["--username", "u", "--password", "p", "--password-file", "/f"], [:], "invalid flag: only one of --password and --password-file may be specified"),
        (["--password", "p"], [:], "invalid flag: --password may only be specified when --username is specified"),
        ([], ["GITSYNC_PASSWORD_FILE": "/f"], "invalid flag: --password-file may only be specified when --username is specified"),
        (["--username", "u", "--password", "p"], [:], "invalid flag: credentials may not be specified in --repo when --username is specified"),
    ])
    func inconsistentCredentialFlagsAreRefused(args: [String], env: [String: String], message: String) throws {
        let p = try GitSyncRun(["--repo", "http://u:p@example.com/r.git", "--root", "/tmp/never-synced"] + args, env: env)
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 1, "\(p.log)")
        #expect(p.log.contains(message), "\(p.log)")
        p.stop()
    }
}
