package io.llamba.engine.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/** Files over 2 GiB map and read correctly (a sparse file: no disk or time spent on the gap). */
class LargeFileTest {
    @TempDir
    Path tmp;

    @Test
    void tensorBeyondTwoGibIsReadInPlace() throws IOException {
        long far = (1L << 31) + 4096; // past Integer.MAX_VALUE
        String header = "{\"far\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [" + far + ", " + (far + 8) + "]},"
                + " \"near\": {\"dtype\": \"BF16\", \"shape\": [1], \"data_offsets\": [0, 2]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = tmp.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length));
            ch.write(ByteBuffer.wrap(h));
            ch.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, Floats.floatToBf16(1.5f)));
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 3.25f).putFloat(4, -7f), 8 + h.length + far);
        }
        try (Arena arena = Arena.ofShared()) {
            SafetensorsFile f = SafetensorsFile.open(p, arena);
            assertThat(f.tensors().get("far").getFloat(0)).isEqualTo(3.25f);
            assertThat(f.tensors().get("far").getFloat(1)).isEqualTo(-7f);
            assertThat(f.tensors().get("near").getFloat(0)).isEqualTo(1.5f);
        }
    }
}
