"""Where bytes are made: the codec, the packet that carries an event, codes, schema."""
