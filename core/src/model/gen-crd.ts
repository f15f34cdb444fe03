/**
 * Prints the TieredTable CRD as YAML: `node core/dist/model/gen-crd.js > crds/tieredtables.strata.dev.yaml`
 * (`make crd`). An entry point, so it writes to stdout itself.
 */
import { renderCrdYaml } from './crd';

process.stdout.write(renderCrdYaml());
