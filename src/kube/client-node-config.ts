// The one piece of @kubernetes/client-node we use: its KubeConfig, for the users whose credentials come from an
// exec plugin or an auth provider. Imported on demand through this module, not straight from the package, so that
// a bundler keeps only what KubeConfig needs (a namespace import keeps all of the package's generated API).
export {KubeConfig} from '@kubernetes/client-node'
