// Entry for workerd: a module worker that runs the checks and answers with their JSON.
import { runChecks } from './check.mjs';

export default {
  async fetch() {
    return Response.json(await runChecks());
  },
};
