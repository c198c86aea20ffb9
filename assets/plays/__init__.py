"""assets/plays: segments from plays.yaml, holdouts, cooldowns, goals and measured lift."""
