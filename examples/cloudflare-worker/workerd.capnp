# workerd's config for running the bundled worker locally (what `wrangler dev` does for you).
# npm start overrides the address with --socket-addr http=127.0.0.1:$PORT.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "dist/worker.js")],
  compatibilityDate = "2025-09-01",
  bindings = [(name = "ITTYBIT_WEBHOOK_SECRET", fromEnvironment = "ITTYBIT_WEBHOOK_SECRET")],
);
