"""rich renderables, each in its own module; nothing here decides anything."""
