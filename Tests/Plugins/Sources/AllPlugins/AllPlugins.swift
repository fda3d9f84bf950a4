// Nothing here: the target exists so that `swift build` in Tests/Plugins builds and links every
// plugin product it depends on (Package.swift).
